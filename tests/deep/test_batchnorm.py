"""The NumPy BatchNorm against ``torch.nn.BatchNorm2d`` / ``BatchNorm1d`` in float64:
training and eval forward, running statistics, gradients wrt x, γ and β; and the
s3.layers BatchNorm checks fail on deliberately wrong variants.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ai_roadmap.deep import batchnorm as bnm

pytestmark = pytest.mark.reference

ATOL, RTOL = 1e-12, 1e-10


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def torch_layer(ours: bnm.BatchNorm, cls: type = torch.nn.BatchNorm2d) -> torch.nn.Module:
    ref = cls(len(ours.gamma), eps=ours.eps, momentum=ours.momentum, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.gamma))
        ref.bias.copy_(torch.from_numpy(ours.beta))
    return ref


def both_steps(ours: bnm.BatchNorm, ref: torch.nn.Module, x: np.ndarray, g: np.ndarray) -> None:
    """One forward + backward of both; asserts y, ∂L/∂x, ∂L/∂γ, ∂L/∂β agree."""
    x_t = torch.tensor(x, requires_grad=True)
    ref.zero_grad()
    y_t = ref(x_t)
    y_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.forward(x), y_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.backward(g), x_t.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.grad_gamma, ref.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.grad_beta, ref.bias.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_training_mode_and_running_statistics_match_batchnorm2d(momentum: float) -> None:
    g = rng(1)
    ours = bnm.BatchNorm(4, eps=1e-3, momentum=momentum)
    ours.gamma, ours.beta = g.normal(1, 0.5, 4), g.normal(0, 0.5, 4)
    ref = torch_layer(ours)
    for _ in range(4):
        x, dy = g.normal(3.0, 2.0, (5, 4, 3, 6)), g.standard_normal((5, 4, 3, 6))
        both_steps(ours, ref, x, dy)
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=RTOL)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=RTOL)


def test_eval_mode_uses_running_statistics_like_torch() -> None:
    g = rng(2)
    ours = bnm.BatchNorm(3)
    ours.gamma, ours.beta = g.normal(1, 0.5, 3), g.normal(0, 0.5, 3)
    ref = torch_layer(ours)
    for _ in range(3):
        both_steps(ours, ref, g.normal(-2.0, 4.0, (6, 3, 4, 4)), g.standard_normal((6, 3, 4, 4)))
    ours.training = False
    ref.eval()
    x = g.normal(-2.0, 4.0, (2, 3, 4, 4))  # a batch of 2: eval must not use its statistics
    both_steps(ours, ref, x, g.standard_normal(x.shape))
    # the running estimates stay put in eval mode
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=RTOL)


def test_two_dimensional_input_matches_batchnorm1d() -> None:
    g = rng(3)
    ours = bnm.BatchNorm(7)
    ours.gamma, ours.beta = g.normal(1, 0.5, 7), g.normal(0, 0.5, 7)
    ref = torch_layer(ours, torch.nn.BatchNorm1d)
    both_steps(ours, ref, g.normal(1.0, 3.0, (9, 7)), g.standard_normal((9, 7)))


def test_training_output_has_mean_beta_and_variance_gamma_squared() -> None:
    g = rng(4)
    gamma, beta = np.array([2.0, 0.5]), np.array([-1.0, 3.0])
    y, _, var, _ = bnm.batchnorm_forward(g.normal(5.0, 2.0, (50, 2, 3, 3)), gamma, beta, 1e-5)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), beta, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), gamma**2 * var / (var + 1e-5), rtol=1e-12)


def test_training_mode_needs_two_values_per_channel() -> None:
    with pytest.raises(ValueError, match="more than one value"):
        bnm.BatchNorm(3).forward(np.ones((1, 3)))
    with pytest.raises(RuntimeError, match="forward before backward"):
        bnm.BatchNorm(3).backward(np.ones((2, 3)))


# ---------------------------------------------------------------- the checks and wrong variants


def test_every_batchnorm_check_passes() -> None:
    for rec in (
        bnm.check_bn_train_torch(rng(5), (6, 3, 4, 4), steps=3),
        bnm.check_bn_eval_torch(rng(6), (6, 3, 4, 4), steps=3),
        bnm.check_bn_backward_fd(rng(7), (3, 2, 2, 2)),
        bnm.check_bn_normalises(rng(8), (6, 3, 4, 4)),
    ):
        assert rec.passed, rec


class BiasedRunningVariance(bnm.BatchNorm):
    """Wrong: updates running_var with the biased batch variance (torch uses m/(m − 1))."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        before = self.running_var.copy()
        y = super().forward(x)
        if self.training:
            var = x.var(axis=bnm.channel_axes(x))
            self.running_var = (1 - self.momentum) * before + self.momentum * var
        return y


def test_biased_running_variance_is_detected_in_both_modes() -> None:
    for check in (bnm.check_bn_train_torch, bnm.check_bn_eval_torch):
        rec = check(rng(9), (4, 3, 2, 2), 3, make_layer=BiasedRunningVariance)
        assert not rec.passed and rec.error > 1e-3, rec


def test_backward_without_the_projection_terms_is_detected() -> None:
    def naive(dy: np.ndarray, cache: bnm.BatchNormCache):  # treats μ and σ as constants
        _, dgamma, dbeta = bnm.batchnorm_backward(dy, cache)
        return dy * bnm.per_channel(cache.gamma / cache.std, dy.ndim), dgamma, dbeta

    rec = bnm.check_bn_backward_fd(rng(10), (3, 2, 2, 2), backward=naive)
    assert not rec.passed and rec.error > 0.1, rec


def test_normalising_with_the_unbiased_variance_is_detected() -> None:
    def unbiased(x, gamma, beta, eps=1e-5):
        axes = bnm.channel_axes(x)
        _, mean, var, cache = bnm.batchnorm_forward(x, gamma, beta, eps)
        x_hat = (x - bnm.per_channel(mean, x.ndim)) / bnm.per_channel(
            np.sqrt(x.var(axis=axes, ddof=1) + eps), x.ndim
        )
        return (
            bnm.per_channel(gamma, x.ndim) * x_hat + bnm.per_channel(beta, x.ndim),
            mean,
            var,
            cache,
        )

    rec = bnm.check_bn_normalises(rng(11), (4, 3, 2, 2), forward=unbiased)
    assert not rec.passed and rec.error > 1e-3, rec
