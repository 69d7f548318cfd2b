"""Matrix calculus: the gradient of a matrix expression, and finite differences to check it.

The objective is a ridge-like least squares with a general (not necessarily
symmetric) quadratic penalty

    f(W) = ||X W − Y||_F² + λ tr(Wᵀ A W),      X (n, d), W (d, m), Y (n, m), A (d, d).

Using d||E||_F² = 2 tr(Eᵀ dE) with E = XW − Y, dE = X dW, and
d tr(Wᵀ A W) = tr(dWᵀ A W) + tr(Wᵀ A dW) = tr(dWᵀ (A + Aᵀ) W),

    ∇_W f = 2 Xᵀ (X W − Y) + λ (A + Aᵀ) W        (Petersen & Pedersen, *The Matrix
                                                   Cookbook*, eqs. 103 and 107).

A common slip is ``2 λ A W``, right only when A is symmetric.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def matrix_objective(
    W: np.ndarray, X: np.ndarray, Y: np.ndarray, A: np.ndarray, l2: float
) -> float:
    """f(W) = ||X W − Y||_F² + λ tr(Wᵀ A W)."""
    residual = X @ W - Y  # (n, m)
    return float(np.sum(residual**2) + l2 * np.trace(W.T @ A @ W))


def matrix_objective_gradient(
    W: np.ndarray, X: np.ndarray, Y: np.ndarray, A: np.ndarray, l2: float
) -> np.ndarray:
    """∇_W f = 2 Xᵀ (X W − Y) + λ (A + Aᵀ) W, shape (d, m) like W."""
    return 2.0 * X.T @ (X @ W - Y) + l2 * (A + A.T) @ W


def central_difference_gradient(
    f: Callable[[np.ndarray], float], W: np.ndarray, step: float = 1e-6
) -> np.ndarray:
    """∂f/∂W_ij ≈ (f(W + h E_ij) − f(W − h E_ij)) / 2h, one entry at a time.

    The truncation error is O(h² f'''), zero for a quadratic f, so what remains
    is rounding: about ε_mach |f| / h.
    """
    grad = np.zeros_like(W, dtype=np.float64)
    bumped = W.astype(np.float64, copy=True)
    for index in np.ndindex(W.shape):
        original = bumped[index]
        bumped[index] = original + step
        upper = f(bumped)
        bumped[index] = original - step
        lower = f(bumped)
        bumped[index] = original
        grad[index] = (upper - lower) / (2.0 * step)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a − b|| / max(||a||, ||b||, tiny): scale-free, symmetric in a and b."""
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-300)
    return float(np.linalg.norm(a - b)) / scale
