"""Batch normalisation in NumPy: forward, hand-written backward, running statistics.

Ioffe & Szegedy (2015). For an input of shape (N, C, *spatial) every channel c is
normalised over the m = N · Π spatial values it holds in the batch:

    μ_c  = (1/m) Σ x                      (batch mean)
    σ²_c = (1/m) Σ (x − μ_c)²             (biased batch variance)
    x̂    = (x − μ_c) / s_c,  s_c = √(σ²_c + ε)
    y    = γ_c x̂ + β_c

In training mode the batch statistics are used and running estimates are updated
the way ``torch.nn.BatchNorm2d`` does it, with momentum ρ (0.1 by default):

    running_mean ← (1 − ρ) running_mean + ρ μ_c
    running_var  ← (1 − ρ) running_var  + ρ · m/(m − 1) · σ²_c     (unbiased variance)

In evaluation mode the running estimates replace the batch statistics, so y is a
fixed affine map of x: y = γ (x − running_mean) / √(running_var + ε) + β.

Backward (training mode). Write g = ∂L/∂y and let ⟨·⟩ be the mean over the m
values of one channel. The affine part gives

    ∂L/∂β = Σ g,   ∂L/∂γ = Σ g x̂,   ∂L/∂x̂ = γ g =: d.

x̂ depends on x directly and through μ and σ². With ∂μ/∂x_i = 1/m and
∂σ²/∂x_i = 2(x_i − μ)/m,

    ∂L/∂σ² = Σ_j d_j (x_j − μ) · (−½) s⁻³ = −(m / 2s²) ⟨d x̂⟩
    ∂L/∂μ  = −(1/s) Σ d_j − ∂L/∂σ² · (2/m) Σ (x_j − μ) = −(m/s) ⟨d⟩      (Σ (x_j − μ) = 0)
    ∂L/∂x_i = d_i / s + ∂L/∂μ / m + ∂L/∂σ² · 2(x_i − μ)/m

which collapses to the compact form used below:

    ∂L/∂x = (1/s) (d − ⟨d⟩ − x̂ ⟨d x̂⟩).

The two subtracted terms are the projections of d onto the constant vector and onto
x̂: the normalised output is invariant to shifting and scaling a channel's inputs,
so the gradient has no component along those directions. In evaluation mode the map
is affine and ∂L/∂x = γ g / √(running_var + ε).

The ``check_*`` functions at the end put this layer beside ``torch.nn.BatchNorm2d``
(float64) and beside central differences; each takes the piece under test as an
argument so a deliberately wrong variant can be shown to fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ai_roadmap.checks import CheckRecord, record


def channel_axes(x: np.ndarray) -> tuple[int, ...]:
    """The axes a channel is reduced over: every axis except 1 (N and the spatial ones)."""
    if x.ndim < 2:
        raise ValueError(f"BatchNorm needs an input of shape (N, C, ...), got {x.shape}")
    return (0, *range(2, x.ndim))


def per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    """(C,) -> (1, C, 1, ...) so it broadcasts against an (N, C, *spatial) array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


@dataclass
class BatchNormCache:
    """What the training-mode backward needs from the forward."""

    x_hat: np.ndarray  # normalised input, same shape as x
    std: np.ndarray  # s_c = √(σ²_c + ε), shape (C,)
    gamma: np.ndarray  # (C,)
    batch_stats: bool = True  # False: normalised with the running estimates (eval mode)


def batchnorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, BatchNormCache]:
    """Training-mode forward: (y, batch mean μ, biased batch variance σ², cache)."""
    axes = channel_axes(x)
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)  # biased (ddof = 0): the one used to normalise
    std = np.sqrt(var + eps)
    x_hat = (x - per_channel(mean, x.ndim)) / per_channel(std, x.ndim)
    y = per_channel(gamma, x.ndim) * x_hat + per_channel(beta, x.ndim)
    return y, mean, var, BatchNormCache(x_hat, std, gamma)


def batchnorm_backward(
    dy: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training-mode backward: (∂L/∂x, ∂L/∂γ, ∂L/∂β) = ((1/s)(d − ⟨d⟩ − x̂⟨d x̂⟩), Σ g x̂, Σ g)."""
    axes = channel_axes(dy)
    x_hat, ndim = cache.x_hat, dy.ndim
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    d = dy * per_channel(cache.gamma, ndim)  # ∂L/∂x̂
    mean_d = d.mean(axis=axes, keepdims=True)
    mean_d_xhat = (d * x_hat).mean(axis=axes, keepdims=True)
    dx = (d - mean_d - x_hat * mean_d_xhat) / per_channel(cache.std, ndim)
    return dx, dgamma, dbeta


class BatchNorm:
    """A BatchNorm layer for (N, C, *spatial) inputs with ``forward`` and ``backward``.

    Parameters γ (ones) and β (zeros) and buffers running_mean (zeros) and
    running_var (ones) start as in PyTorch; ``training`` switches between batch
    statistics (and running-estimate updates) and the running estimates.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        if channels < 1 or eps <= 0 or not 0.0 <= momentum <= 1.0:
            raise ValueError("need channels ≥ 1, eps > 0 and momentum in [0, 1]")
        self.eps, self.momentum = eps, momentum
        self.gamma = np.ones(channels)
        self.beta = np.zeros(channels)
        self.running_mean = np.zeros(channels)
        self.running_var = np.ones(channels)
        self.training = True
        self.grad_gamma = np.zeros(channels)
        self.grad_beta = np.zeros(channels)
        self.cache: BatchNormCache | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = γ x̂ + β with batch statistics (training) or running estimates (eval)."""
        if not self.training:
            return self._forward_eval(x)
        m = x.size // x.shape[1]  # values per channel
        if m < 2:
            raise ValueError("training-mode BatchNorm needs more than one value per channel")
        y, mean, var, self.cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
        rho = self.momentum
        self.running_mean = (1 - rho) * self.running_mean + rho * mean
        self.running_var = (1 - rho) * self.running_var + rho * var * m / (m - 1)
        return y

    def _forward_eval(self, x: np.ndarray) -> np.ndarray:
        std = np.sqrt(self.running_var + self.eps)  # (C,)
        x_hat = (x - per_channel(self.running_mean, x.ndim)) / per_channel(std, x.ndim)
        self.cache = BatchNormCache(x_hat, std, self.gamma, batch_stats=False)
        return per_channel(self.gamma, x.ndim) * x_hat + per_channel(self.beta, x.ndim)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """∂L/∂x; stores ∂L/∂γ and ∂L/∂β in ``grad_gamma`` / ``grad_beta``."""
        if self.cache is None:
            raise RuntimeError("call forward before backward")
        if self.cache.batch_stats:
            dx, self.grad_gamma, self.grad_beta = batchnorm_backward(dy, self.cache)
            return dx
        axes = channel_axes(dy)
        self.grad_beta = dy.sum(axis=axes)
        self.grad_gamma = (dy * self.cache.x_hat).sum(axis=axes)
        scale = self.gamma / self.cache.std  # the map is affine in eval mode
        return dy * per_channel(scale, dy.ndim)


# ---------------------------------------------------------------- checks against torch


def max_relative_gap(pairs: list[tuple[np.ndarray, Any]]) -> float:
    """max over pairs of max|a − b| / max(1, max|b|) (b may be a torch tensor)."""
    worst = 0.0
    for ours, ref in pairs:
        ref = ref.detach().numpy() if isinstance(ref, torch.Tensor) else np.asarray(ref)
        worst = max(worst, float(np.max(np.abs(ours - ref)) / max(1.0, np.max(np.abs(ref)))))
    return worst


def _bn_pair(
    rng: np.random.Generator, channels: int, momentum: float, eps: float, make_layer: Callable
) -> tuple[BatchNorm, nn.BatchNorm2d]:
    """Our layer and torch's with the same random γ, β (float64)."""
    ours = make_layer(channels, eps=eps, momentum=momentum)
    ours.gamma, ours.beta = rng.normal(1.0, 0.5, channels), rng.normal(0.0, 0.5, channels)
    ref = nn.BatchNorm2d(channels, eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.gamma))
        ref.bias.copy_(torch.from_numpy(ours.beta))
    return ours, ref


def _bn_step(
    ours: BatchNorm, ref: nn.BatchNorm2d, rng: np.random.Generator, shape: tuple[int, ...]
) -> float:
    """One forward + backward of both layers on the same x and ∂L/∂y; the largest gap."""
    x = rng.normal(2.0, 3.0, shape)  # off-centre and wide, so the statistics matter
    g = rng.standard_normal(shape)
    x_t = torch.tensor(x, requires_grad=True)
    ref.zero_grad()
    y_t = ref(x_t)
    y_t.backward(torch.from_numpy(g))
    y, dx = ours.forward(x), ours.backward(g)
    return max_relative_gap(
        [
            (y, y_t),
            (dx, x_t.grad),
            (ours.grad_gamma, ref.weight.grad),
            (ours.grad_beta, ref.bias.grad),
            (ours.running_mean, ref.running_mean),
            (ours.running_var, ref.running_var),
        ]
    )


def check_bn_train_torch(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    steps: int,
    momentum: float = 0.1,
    eps: float = 1e-5,
    make_layer: Callable = BatchNorm,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """Training mode vs ``BatchNorm2d``: y, ∂L/∂x, ∂L/∂γ, ∂L/∂β, running stats, every step."""
    ours, ref = _bn_pair(rng, shape[1], momentum, eps, make_layer)
    worst = max(_bn_step(ours, ref, rng, shape) for _ in range(steps))
    return record("bn_train_torch", worst, tolerance, f"x {shape}, {steps} steps, ρ {momentum:g}")


def check_bn_eval_torch(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    steps: int,
    momentum: float = 0.1,
    eps: float = 1e-5,
    make_layer: Callable = BatchNorm,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """Eval mode vs ``BatchNorm2d.eval()`` after ``steps`` training steps of both."""
    ours, ref = _bn_pair(rng, shape[1], momentum, eps, make_layer)
    for _ in range(steps):
        _bn_step(ours, ref, rng, shape)
    ours.training = False
    ref.eval()
    error = _bn_step(ours, ref, rng, shape)
    return record("bn_eval_torch", error, tolerance, f"after {steps} training steps")


def check_bn_backward_fd(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    fd_step: float = 1e-6,
    backward: Callable = batchnorm_backward,
    tolerance: float = 1e-7,
) -> CheckRecord:
    """||∇ − ∇_fd|| / ||∇_fd|| for x, γ, β of L = Σ g ⊙ BN(x; γ, β), central differences."""
    x, g = rng.normal(1.0, 2.0, shape), rng.standard_normal(shape)
    gamma, beta = rng.normal(1.0, 0.5, shape[1]), rng.normal(0.0, 0.5, shape[1])

    def loss(x_: np.ndarray, gamma_: np.ndarray, beta_: np.ndarray) -> float:
        return float(np.sum(g * batchnorm_forward(x_, gamma_, beta_)[0]))

    analytic = backward(g, batchnorm_forward(x, gamma, beta)[3])
    args, worst = [x, gamma, beta], 0.0
    for k, grad in enumerate(analytic):
        numeric = np.zeros_like(args[k])
        for i in np.ndindex(args[k].shape):
            bumped = [a.copy() for a in args]
            bumped[k][i] += fd_step
            up = loss(*bumped)
            bumped[k][i] -= 2 * fd_step
            numeric[i] = (up - loss(*bumped)) / (2 * fd_step)
        worst = max(worst, float(np.linalg.norm(grad - numeric) / np.linalg.norm(numeric)))
    return record("bn_backward_fd", worst, tolerance, f"x {shape}, h = {fd_step:g}")


def check_bn_normalises(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    eps: float = 1e-5,
    forward: Callable = batchnorm_forward,
    tolerance: float = 1e-12,
) -> CheckRecord:
    """Per channel, mean(y) = β and var(y) = γ² σ²/(σ² + ε) in training mode."""
    x = rng.normal(-3.0, 0.1, shape)  # small variance, so ε visibly shrinks var(y)
    gamma, beta = rng.normal(1.0, 0.5, shape[1]), rng.normal(0.0, 0.5, shape[1])
    y, _, var, _ = forward(x, gamma, beta, eps)
    axes = channel_axes(y)
    error = max(
        float(np.max(np.abs(y.mean(axis=axes) - beta))),
        float(np.max(np.abs(y.var(axis=axes) - gamma**2 * var / (var + eps)))),
    )
    return record("bn_normalises", error, tolerance, f"x {shape}, ε = {eps:g}")
