"""s3.autodiff milestone: the split, the batches, the twin training runs, and a smoke run
on the real MNIST digits (metrics, plot, and our loss curve on top of torch's).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.milestones.s3 import autodiff as am


def tiny_split(seed: int = 0, n: int = 120) -> am.Split:
    """Synthetic 784-pixel digits: class k lights up pixel block k (no dataset needed)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, am.N_CLASSES, n)
    x = rng.standard_normal((n, am.N_PIXELS)) * 0.5
    for k in range(am.N_CLASSES):
        x[y == k, 50 * k : 50 * k + 50] += 1.5
    return am.Split(x[:80], y[:80], x[80:], y[80:])


# ---------------------------------------------------------------- pieces


def test_stratified_split_is_disjoint_complete_and_per_class() -> None:
    labels = np.repeat(np.arange(3), [100, 50, 30])
    train, test = am.stratified_split(labels, 0.2, np.random.default_rng(0))
    assert len(np.intersect1d(train, test)) == 0
    assert sorted(np.concatenate([train, test])) == list(range(len(labels)))
    assert np.bincount(labels[test]).tolist() == [20, 10, 6]


def test_split_depends_only_on_the_seed() -> None:
    labels = np.repeat(np.arange(4), 25)
    a = am.stratified_split(labels, 0.2, np.random.default_rng(3))
    b = am.stratified_split(labels, 0.2, np.random.default_rng(3))
    c = am.stratified_split(labels, 0.2, np.random.default_rng(4))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_batch_schedule_visits_every_digit_once_per_epoch() -> None:
    batches = am.batch_schedule(10, 4, 3, np.random.default_rng(0))
    assert [len(b) for b in batches] == [4, 4, 2] * 3
    for epoch in range(3):
        assert sorted(np.concatenate(batches[3 * epoch : 3 * epoch + 3])) == list(range(10))


def test_cosine_schedule_starts_at_lr_and_decays_to_zero() -> None:
    assert am.cosine_lr(0.1, 0, 100) == pytest.approx(0.1)
    assert am.cosine_lr(0.1, 50, 100) == pytest.approx(0.05)
    assert am.cosine_lr(0.1, 100, 100) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    "kwargs", [{"hidden": 0}, {"epochs": 0}, {"lr": 0.0}, {"momentum": 1.0}, {"momentum": -0.1}]
)
def test_train_config_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        am.TrainConfig(**kwargs)


# ---------------------------------------------------------------- twin runs


def twin_runs(tc: am.TrainConfig, torch_tc: am.TrainConfig | None = None) -> tuple:
    split, rng = tiny_split(), np.random.default_rng(1)
    init = am.init_params(tc.hidden, rng)
    batches = am.batch_schedule(len(split.y_train), tc.batch_size, tc.epochs, rng)
    ours = am.train_ours(init, split, batches, tc)
    return ours, am.train_torch(init, split, batches, torch_tc or tc), split


def test_our_training_run_matches_torch_step_by_step() -> None:
    ours, theirs, split = twin_runs(am.TrainConfig(hidden=16, epochs=4, batch_size=16, lr=0.1))
    np.testing.assert_allclose(ours.losses, theirs.losses, atol=1e-12, rtol=0)
    for name, value in ours.weights.items():
        np.testing.assert_allclose(value, theirs.weights[name], atol=1e-12, rtol=0)
    assert np.mean(ours.losses[-5:]) < 0.5 * ours.losses[0]  # it learns
    assert am.accuracy(am.predict(ours.weights, split.x_test), split.y_test) > 0.8


def test_a_different_momentum_in_torch_shows_in_the_loss_curves() -> None:
    tc = am.TrainConfig(hidden=16, epochs=4, batch_size=16, lr=0.1, momentum=0.9)
    ours, theirs, _ = twin_runs(tc, replace(tc, momentum=0.8))
    assert abs(ours.losses[0] - theirs.losses[0]) < 1e-12  # same weights and first batch
    assert np.max(np.abs(np.subtract(ours.losses, theirs.losses))) > 1e-3


def test_finite_difference_check_agrees_with_backprop() -> None:
    split = tiny_split()
    init = am.init_params(8, np.random.default_rng(2))
    error = am.finite_difference_error(init, split, np.random.default_rng(3), 20, 1e-6)
    assert error < 1e-7


# ---------------------------------------------------------------- smoke run on MNIST


@pytest.mark.data
def test_smoke_run_on_real_mnist(roadmap_home: Path, tmp_path: Path) -> None:
    cfg = compose("s3.autodiff", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = am.run(cfg)
    m = result.metrics
    expected = {
        "test_accuracy",
        "torch_test_accuracy",
        "max_abs_loss_curve_diff",
        "train_seconds",
        "torch_train_seconds",
        "finite_difference_max_error",
    }
    assert expected <= set(m)
    assert not result.proxy
    assert "2000 test" in result.dataset
    assert 0.6 < m["test_accuracy"] <= 1.0  # one short epoch: well above chance (0.1)
    assert m["test_accuracy"] == m["torch_test_accuracy"]
    assert m["max_abs_loss_curve_diff"] < 1e-10
    assert m["finite_difference_max_error"] < 1e-6
    png = result.artifacts["loss_curves_png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = np.loadtxt(result.artifacts["loss_curves_csv"], delimiter=",", skiprows=1)
    assert rows.shape == (int(m["steps"]), 3)
    np.testing.assert_allclose(rows[:, 1], rows[:, 2], atol=1e-10, rtol=0)
    assert rows[-5:, 1].mean() < rows[0, 1]  # the loss falls
    assert result.model_path is not None and result.model_path.exists()
