"""The MNIST MLP of the autodiff engine: the split, the batches, the learning-rate schedule,
the twin training runs (ours and torch's, step for step) and the finite-difference check.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ai_roadmap.deep import autodiff_mlp as am


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
