"""Activation functions, their derivatives, and how saturation shrinks back-propagated errors.

The derivatives, from their formulas: σ' = σ(1 − σ), tanh' = 1 − tanh², ReLU' = 1[x > 0]
and GELU' = Φ(x) + xφ(x) (the exact, erf-based GELU, whose derivative peaks at x = √2
with value ≈ 1.13). :func:`check_activation_derivatives` puts them beside autograd.

Why saturation kills gradients. With z_{l+1} = W_{l+1} φ(z_l) + b_{l+1} the chain rule
gives δ_l = φ'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1} (δ_l = ∂L/∂z_l, the back-propagated error), so
over L layers the error is multiplied by L Jacobians and shrinks at least like
∏ sup|φ'| ||W||₂. For the sigmoid σ'(x) = σ(x)(1 − σ(x)) ≤ 1/4 (p(1 − p) peaks at
p = ½), and far less once |x| is large (the saturated tails): even with ||W||₂ ≈ 2 the
bound falls by half per layer. tanh(x) = 2σ(2x) − 1 has tanh' = 1 − tanh² ≤ 1,
ReLU' ∈ {0, 1} and GELU' = Φ(x) + xφ(x) ≤ 1.13.

:func:`gradient_by_depth` measures ||δ_l|| layer by layer in a deep MLP at its usual
initialisation, and :func:`check_saturation_bound` verifies
||δ_l|| ≤ sup|φ'| · ||W_{l+1}||₂ · ||δ_{l+1}|| at every layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ai_roadmap.checks import CheckRecord, record

ACTIVATIONS = ("sigmoid", "tanh", "relu", "gelu")
GELU_SUP = 0.5 * (1 + math.erf(1.0)) + math.sqrt(2.0) * math.exp(-1.0) / math.sqrt(2 * math.pi)
SUP_DERIVATIVE = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0, "gelu": GELU_SUP}  # GELU' at x = √2


def torch_activation(name: str, z: torch.Tensor) -> torch.Tensor:
    """φ(z) for one of :data:`ACTIVATIONS` (exact, erf-based GELU)."""
    fns = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "gelu": F.gelu}
    return fns[name](z)


def activation_derivative(name: str, x: np.ndarray) -> np.ndarray:
    """φ'(x) from its formula: σ(1 − σ), 1 − tanh², 1[x > 0], Φ(x) + xφ(x)."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-x))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(float)
    if name == "gelu":
        cdf = 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
        return cdf + x * np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    raise ValueError(f"unknown activation {name!r}; use one of {ACTIVATIONS}")


# ---------------------------------------------------------------- activation checks


def check_activation_derivatives(
    grid: np.ndarray, derivative: Callable = activation_derivative, tolerance: float = 1e-12
) -> CheckRecord:
    """max |φ'_formula − φ'_autograd| over the grid, plus |max σ' − 1/4| and |max tanh' − 1|."""
    x_t = torch.tensor(grid, requires_grad=True)
    errors = {}
    for name in ACTIVATIONS:
        (auto,) = torch.autograd.grad(torch_activation(name, x_t).sum(), x_t)
        errors[name] = float(np.max(np.abs(derivative(name, grid) - auto.numpy())))
    errors["max σ'"] = abs(float(np.max(derivative("sigmoid", grid))) - 0.25)
    errors["max tanh'"] = abs(float(np.max(derivative("tanh", grid))) - 1.0)
    worst = max(errors, key=errors.__getitem__)
    detail = f"{grid.size} points on [{grid[0]:g}, {grid[-1]:g}], worst: {worst}"
    return record("activation_derivatives", errors[worst], tolerance, detail)


# ---------------------------------------------------------------- saturation experiment


@dataclass(frozen=True)
class Saturation:
    """One deep MLP's back-propagated error by layer."""

    activation: str
    error_norms: np.ndarray  # (depth,) ||δ_l||_F = ||∂L/∂z_l||_F for the layers l = 1..depth
    weight_norms: np.ndarray  # (depth,) ||W_{l+1}||₂, the matrix δ_l comes back through


def gradient_by_depth(
    name: str, depth: int, width: int, batch: int, classes: int, seed: int
) -> Saturation:
    """h_0 = x, z_l = W_l h_{l−1}, h_l = φ(z_l); cross-entropy on random labels; ||∂L/∂z_l||.

    Glorot N(0, 1/width) for sigmoid / tanh, He N(0, 2/width) for ReLU / GELU (float64).
    """
    g = torch.Generator().manual_seed(seed)
    std = math.sqrt((1.0 if name in ("sigmoid", "tanh") else 2.0) / width)
    sizes = [(width, width)] * depth + [(classes, width)]
    weights = [torch.randn(s, generator=g, dtype=torch.float64) * std for s in sizes]
    h = torch.randn(batch, width, generator=g, dtype=torch.float64).requires_grad_(True)
    labels = torch.randint(classes, (batch,), generator=g)
    pre = []
    for w in weights[:-1]:
        z = h @ w.T  # (B, width) @ (width, width) -> (B, width)
        z.retain_grad()
        pre.append(z)
        h = torch_activation(name, z)
    F.cross_entropy(h @ weights[-1].T, labels).backward()
    return Saturation(
        name,
        np.array([float(z.grad.norm()) for z in pre]),
        np.array([float(torch.linalg.matrix_norm(w, ord=2)) for w in weights[1:]]),
    )


def check_saturation_bound(
    runs: list[Saturation], sup: dict[str, float] = SUP_DERIVATIVE, tolerance: float = 1e-9
) -> CheckRecord:
    """max over nets and layers of (||δ_l|| / (sup|φ'| ||W_{l+1}||₂ ||δ_{l+1}||) − 1)⁺.

    δ_l = φ'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so the ratio can never exceed 1.
    """
    worst, tightest = 0.0, {}
    for run_ in runs:
        e, w = run_.error_norms, run_.weight_norms
        ratio = e[:-1] / (sup[run_.activation] * w[:-1] * e[1:])
        worst = max(worst, float(np.max(ratio)) - 1.0)
        tightest[run_.activation] = float(np.max(ratio))
    detail = "largest ratio to the bound: " + ", ".join(f"{k} {v:.2f}" for k, v in tightest.items())
    return record("saturation_bound", max(worst, 0.0), tolerance, detail)
