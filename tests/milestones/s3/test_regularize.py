"""s3.regularize at smoke scale on the MNIST digits: every check passes, the gap of each
run is reported and both plots are written into the run's output folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.milestones.s3 import regularize as rr
from ai_roadmap.training.threads import torch_threads

pytestmark = [pytest.mark.data, pytest.mark.slow]

CHECKS = (
    "dropout_statistics",
    "dropout_eval_identity",
    "dropout_torch_scaling",
    "label_smoothing_torch",
    "label_smoothing_optimum",
    "mixup_soft_target",
    "mixup_lambda_beta",
    "cutmix_area",
    "early_stopping",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, data_home: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROADMAP_HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("ROADMAP_DATA_HOME", str(data_home))
        from ai_roadmap.settings import get_settings

        get_settings.cache_clear()
        cfg = compose("s3.regularize", "smoke")
        cfg.output_dir = str(tmp_path_factory.mktemp("s3.regularize"))
        result = rr.run(cfg)
        get_settings.cache_clear()
    return cfg, result


def test_smoke_run_passes_every_check(smoke_run) -> None:
    _, result = smoke_run
    assert result.metrics["checks_failed"] == 0, result.notes
    assert result.metrics["checks_passed"] == len(CHECKS)
    assert {f"err_{name}" for name in CHECKS} <= set(result.metrics)
    assert "mnist" in result.dataset and result.proxy is False


def test_smoke_run_reports_each_runs_gap(smoke_run) -> None:
    cfg, result = smoke_run
    for name in rr.RUNS:
        gap, train, val = (
            result.metrics[f"{k}_{name}"] for k in ("gap_acc", "train_acc", "val_acc")
        )
        assert 0.0 <= val <= 1.0 and 0.0 <= train <= 1.0
        assert gap == pytest.approx(train - val)
        assert np.isfinite(result.metrics[f"gap_loss_{name}"])
        assert 1 <= result.metrics[f"epochs_{name}"] <= cfg.experiment.epochs
    # 200 training digits, 4 epochs: the MLP already learns far better than chance (0.1)
    assert result.metrics["val_acc_baseline"] > 0.3


def test_smoke_run_writes_the_plots(smoke_run) -> None:
    cfg, result = smoke_run
    assert set(result.artifacts) == {"checks.csv", "regularisation_gap.png", "learning_curves.png"}
    for path in map(Path, result.artifacts.values()):
        assert path.parent == Path(cfg.output_dir)
        assert path.stat().st_size > 0
    assert Path(result.artifacts["learning_curves.png"]).read_bytes()[:4] == b"\x89PNG"


def test_split_is_disjoint_and_scaled(roadmap_home: Path) -> None:
    split = rr.load_split(50, 70, seed=3)
    assert split.x_train.shape == (50, 1, 28, 28) and split.x_val.shape == (70, 1, 28, 28)
    assert float(split.x_train.min()) >= 0.0 and float(split.x_train.max()) <= 1.0
    train_rows = {tuple(r) for r in split.x_train.flatten(1).numpy().round(4).tolist()}
    assert not any(tuple(r) in train_rows for r in split.x_val.flatten(1).numpy().round(4).tolist())


def test_early_stopping_run_stops_and_restores_the_best_validation_loss(
    roadmap_home: Path,
) -> None:
    overrides = ["experiment.epochs=30", "experiment.patience=2", "experiment.lr=0.01"]
    cfg = compose("s3.regularize", "smoke", overrides)
    split = rr.load_split(200, 200, seed=0)
    with torch_threads(1):
        hist = rr.train("early_stopping", split, cfg.experiment, seed=0)
    assert len(hist.val_loss) < 30  # it stopped
    assert hist.best_epoch == int(np.argmin(hist.val_loss))
    assert hist.final["val_loss"] == pytest.approx(min(hist.val_loss), rel=1e-6)
