"""The over-fitting experiment on the MNIST digits: the split and an early-stopped run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.deep import overfitting as of
from ai_roadmap.training.threads import torch_threads

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_split_is_disjoint_and_scaled(roadmap_home: Path) -> None:
    split = of.load_split(50, 70, seed=3)
    assert split.x_train.shape == (50, 1, 28, 28) and split.x_val.shape == (70, 1, 28, 28)
    assert float(split.x_train.min()) >= 0.0 and float(split.x_train.max()) <= 1.0
    train_rows = {tuple(r) for r in split.x_train.flatten(1).numpy().round(4).tolist()}
    assert not any(tuple(r) in train_rows for r in split.x_val.flatten(1).numpy().round(4).tolist())


def test_early_stopping_run_stops_and_restores_the_best_validation_loss(
    roadmap_home: Path,
) -> None:
    setup = of.Experiment(
        n_train=200, n_val=200, hidden=(64,), epochs=30, batch=50, lr=0.01, patience=2
    )
    split = of.load_split(200, 200, seed=0)
    with torch_threads(1):
        hist = of.train("early_stopping", split, setup, seed=0)
    assert len(hist.val_loss) < 30  # it stopped
    assert hist.best_epoch == int(np.argmin(hist.val_loss))
    assert hist.final["val_loss"] == pytest.approx(min(hist.val_loss), rel=1e-6)
