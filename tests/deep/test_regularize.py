"""The regularisers against PyTorch and their definitions: label smoothing vs
``F.cross_entropy(label_smoothing=ε)`` (float64, loss and gradient), inverted-dropout
statistics and torch's scaling, mixup's loss vs soft-target cross-entropy, CutMix's
pixel share, early stopping; each s3.regularize check fails on a wrong variant.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ai_roadmap.deep import regularize as reg

pytestmark = pytest.mark.reference


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- label smoothing


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.2, 1.0])
def test_smoothed_cross_entropy_matches_torch_loss_and_gradient(eps: float) -> None:
    g = rng(1)
    z0 = torch.from_numpy(g.normal(0.0, 4.0, (32, 7)))
    y = torch.from_numpy(g.integers(7, size=32))
    ours_z, ref_z = z0.clone().requires_grad_(True), z0.clone().requires_grad_(True)
    ours = reg.smoothed_cross_entropy(ours_z, y, eps)
    ref = F.cross_entropy(ref_z, y, label_smoothing=eps)
    ours.backward()
    ref.backward()
    assert ours.item() == pytest.approx(ref.item(), rel=1e-13)
    torch.testing.assert_close(ours_z.grad, ref_z.grad, rtol=1e-12, atol=1e-15)


def test_smoothed_targets_sum_to_one_with_the_stated_entries() -> None:
    q = reg.smoothed_targets(torch.tensor([2, 0]), 4, 0.2, torch.float64)
    expected = torch.tensor(
        [[0.05, 0.05, 0.85, 0.05], [0.85, 0.05, 0.05, 0.05]], dtype=torch.float64
    )
    torch.testing.assert_close(q, expected, rtol=0, atol=1e-15)


def test_label_smoothing_checks_pass_and_smoothing_over_the_other_classes_fails() -> None:
    assert reg.check_label_smoothing_torch(rng(2), 16, 5, (0.0, 0.1)).passed
    assert reg.check_label_smoothing_optimum(rng(3), 16, 5, 0.1).passed

    def over_others(logits: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
        """Wrong: ε/(K − 1) on each other class, 1 − ε on the true one."""
        k = logits.shape[1]
        q = (1 - eps) * F.one_hot(target, k) + eps / (k - 1) * (1 - F.one_hot(target, k))
        return -(q.to(logits.dtype) * F.log_softmax(logits, dim=1)).sum(dim=1).mean()

    for check in (reg.check_label_smoothing_torch, reg.check_label_smoothing_optimum):
        args = (16, 5, (0.1,)) if check is reg.check_label_smoothing_torch else (16, 5, 0.1)
        rec = check(rng(4), *args, loss=over_others)
        assert not rec.passed and rec.error > 1e-3, rec


# ---------------------------------------------------------------- dropout


def test_inverted_dropout_keeps_the_mean_and_the_drop_rate() -> None:
    g = torch.Generator().manual_seed(0)
    layer = reg.InvertedDropout(0.4, generator=g).train()
    x = torch.full((20000, 10), 3.0, dtype=torch.float64)
    y = layer(x)
    assert set(torch.unique(y).tolist()) == {0.0, 5.0}  # 3 / (1 − 0.4)
    n = y.numel()
    assert abs(float((y == 0).double().mean()) - 0.4) < 5 * np.sqrt(0.4 * 0.6 / n)
    assert abs(float(y.mean()) - 3.0) < 5 * 3.0 * np.sqrt(0.4 / 0.6 / n)


def test_dropout_eval_mode_and_extreme_probabilities() -> None:
    x = torch.randn(5, 6)
    assert torch.equal(reg.InvertedDropout(0.7).eval()(x), x)
    assert torch.equal(reg.InvertedDropout(1.0).train()(x), torch.zeros_like(x))
    with pytest.raises(ValueError):
        reg.InvertedDropout(1.5)


class NotInverted(reg.InvertedDropout):
    """Wrong: the original dropout's training pass, without the 1/(1 − p) scaling."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out * (1 - self.p) if self.training else out


def test_dropout_checks_pass_and_catch_a_missing_rescale() -> None:
    assert reg.check_dropout_statistics(0, 100, 2000, 0.3).passed
    assert reg.check_dropout_eval_identity(0, 0.3).passed
    assert reg.check_dropout_torch_scaling(0, 0.3).passed
    rec = reg.check_dropout_statistics(0, 100, 2000, 0.3, make=NotInverted)
    assert not rec.passed and rec.error > 10, rec  # E[y] = 0.7 x: z ≈ 20
    rec = reg.check_dropout_torch_scaling(0, 0.3, apply_mask=lambda x, keep, p: x * keep)
    assert not rec.passed, rec


def test_dropout_applied_in_eval_is_detected() -> None:
    class AlwaysOn(reg.InvertedDropout):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return reg.dropout_with_mask(
                x, torch.rand(x.shape, generator=self.generator) >= self.p, self.p
            )

    assert not reg.check_dropout_eval_identity(0, 0.3, make=AlwaysOn).passed


# ---------------------------------------------------------------- mixup and cutmix


def test_mixup_inputs_are_the_convex_combination_with_the_partner() -> None:
    g = rng(5)
    x, idx = torch.from_numpy(g.normal(size=(16, 4))), torch.arange(16)  # labels = row numbers
    batch = reg.mixup(x, idx, 1.0, g)
    assert sorted(batch.y_b.tolist()) == list(range(16))  # a permutation
    expected = batch.lam * x + (1 - batch.lam) * x[batch.y_b]
    torch.testing.assert_close(batch.inputs, expected, rtol=1e-12, atol=1e-15)


def test_mixed_loss_equals_soft_target_cross_entropy_from_torch() -> None:
    g = rng(6)
    x, y = torch.from_numpy(g.normal(size=(16, 4))), torch.from_numpy(g.integers(3, size=16))
    batch = reg.mixup(x, y, 1.0, g)
    logits = torch.from_numpy(g.normal(size=(16, 3)))
    e_a, e_b = F.one_hot(batch.y_a, 3).double(), F.one_hot(batch.y_b, 3).double()
    soft = batch.lam * e_a + (1 - batch.lam) * e_b
    assert reg.mixed_loss(logits, batch).item() == pytest.approx(
        F.cross_entropy(logits, soft).item(), rel=1e-13
    )
    assert reg.check_mixup_soft_target(rng(6), 16, 3, 0.4).passed


def test_mixup_lambda_follows_beta_and_a_uniform_lambda_fails() -> None:
    assert reg.check_mixup_lambda(rng(7), 2000, 0.4).passed

    def uniform_lambda(x, y, alpha, g):
        return reg.MixedBatch(x, y, y, float(g.uniform()))

    rec = reg.check_mixup_lambda(rng(7), 2000, 0.4, mix=uniform_lambda)
    assert not rec.passed and rec.error > 3, rec


def test_cutmix_share_is_one_minus_lambda_and_an_unadjusted_lambda_fails() -> None:
    assert reg.check_cutmix_area(rng(8), 100, 28, 1.0).passed

    def unadjusted(x, y, alpha, g):
        """Wrong: keeps the drawn λ although the box was clipped at the border."""
        height, width = x.shape[-2:]
        lam = float(g.beta(alpha, alpha))
        perm = torch.from_numpy(g.permutation(len(x)))
        top, bottom, left, right = reg.cutmix_box(height, width, lam, g)
        mixed = x.clone()
        mixed[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
        return reg.MixedBatch(mixed, y, y[perm], lam)

    rec = reg.check_cutmix_area(rng(8), 100, 28, 1.0, mix=unadjusted)
    assert not rec.passed and rec.error > 0.05, rec


def test_cutmix_keeps_everything_outside_the_box() -> None:
    x = torch.arange(4, dtype=torch.float64).reshape(4, 1, 1, 1).expand(4, 2, 10, 12)
    batch = reg.cutmix(x, torch.arange(4), 1.0, rng(9))
    own = (batch.inputs == x).all(dim=1).double().mean(dim=(1, 2))  # (N,) share kept
    moved = batch.y_b != torch.arange(4)
    np.testing.assert_allclose(own[moved].numpy(), batch.lam, atol=1e-12)


# ---------------------------------------------------------------- early stopping


def test_early_stopping_check_passes() -> None:
    rec = reg.check_early_stopping()
    assert rec.passed, rec


class ShallowCopy(reg.EarlyStopping):
    """Wrong: keeps references to the live tensors instead of a copy."""

    def step(self, loss: float, model: torch.nn.Module) -> bool:
        stop = super().step(loss, model)
        if self.best_epoch == self.epoch:
            self.best_state = model.state_dict()
        return stop


class StrictPatience(reg.EarlyStopping):
    """Wrong: waits one epoch too many (stops when bad_epochs > patience)."""

    def step(self, loss: float, model: torch.nn.Module) -> bool:
        return super().step(loss, model) and self.bad_epochs > self.patience


class IgnoresMinDelta(reg.EarlyStopping):
    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        super().__init__(patience, 0.0)


@pytest.mark.parametrize("wrong", [ShallowCopy, StrictPatience, IgnoresMinDelta])
def test_early_stopping_mistakes_are_detected(wrong: type) -> None:
    rec = reg.check_early_stopping(make=wrong)
    assert not rec.passed and rec.error >= 1, rec
