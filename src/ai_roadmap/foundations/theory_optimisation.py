"""Optimisation: gradient descent's linear rate, Adam from its equations, the SVM dual by SMO.

* Gradient descent on f(x) = ½ xᵀAx − bᵀx, A symmetric with eigenvalues in [μ, L]:
  x_{k+1} − x* = (I − ηA)(x_k − x*), so with η = 1/L every eigen-direction shrinks by
  |1 − λ/L| ≤ 1 − μ/L and ||x_k − x*|| ≤ (1 − μ/L)^k ||x_0 − x*||. With η > 2/L the
  top direction grows by |1 − ηL| > 1 per step: GD diverges (Nesterov, *Lectures on
  Convex Optimization*, 2018, §2.1.5; Boyd & Vandenberghe §9.3).
* Adam (Kingma & Ba, 2015, Algorithm 1).
* The soft-margin SVM dual (Cortes & Vapnik, 1995), solved by SMO with the
  maximal-violating-pair working set (Keerthi et al., 2001; LIBSVM's WSS1,
  Fan, Chen & Lin, JMLR 2005).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# ---------------------------------------------------------------- gradient descent


def quadratic_with_spectrum(
    eigenvalues: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A = Q diag(λ) Qᵀ with a random orthogonal Q, and a random b; returns (A, b)."""
    dim = eigenvalues.size
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    a = (q * eigenvalues) @ q.T
    return 0.5 * (a + a.T), rng.standard_normal(dim)  # symmetrise away rounding


def gradient_descent_errors(
    a: np.ndarray, b: np.ndarray, step: float, steps: int, x0: np.ndarray
) -> np.ndarray:
    """||x_k − x*|| for k = 0..steps of x_{k+1} = x_k − η (A x_k − b); x* = A⁻¹ b."""
    x_star = np.linalg.solve(a, b)
    x = x0.astype(np.float64, copy=True)
    errors = np.empty(steps + 1)
    errors[0] = np.linalg.norm(x - x_star)
    for k in range(1, steps + 1):
        x = x - step * (a @ x - b)
        errors[k] = np.linalg.norm(x - x_star)
    return errors


def linear_rate_bound(mu: float, lipschitz: float, steps: int, initial_error: float) -> np.ndarray:
    """(1 − μ/L)^k ||x_0 − x*|| for k = 0..steps: GD's guarantee with step 1/L."""
    return initial_error * (1.0 - mu / lipschitz) ** np.arange(steps + 1)


@dataclass(frozen=True)
class QuadraticProblem:
    """f(x) = ½ xᵀAx − bᵀx with μ = λ_min(A), L = λ_max(A); GD starts at x0 = 0."""

    a: np.ndarray
    b: np.ndarray
    mu: float
    lipschitz: float

    @property
    def x0(self) -> np.ndarray:
        return np.zeros_like(self.b)


def quadratic_problem(rng: np.random.Generator, dim: int, condition: float) -> QuadraticProblem:
    """A with eigenvalues evenly spread over [1, κ], so μ = 1 and L = κ exactly."""
    a, b = quadratic_with_spectrum(np.linspace(1.0, condition, dim), rng)
    return QuadraticProblem(a, b, mu=1.0, lipschitz=float(condition))


# ---------------------------------------------------------------- Adam


@dataclass
class AdamState:
    """First and second moment estimates and the step count t."""

    m: np.ndarray
    v: np.ndarray
    t: int = 0


def adam_init(param: np.ndarray) -> AdamState:
    return AdamState(m=np.zeros_like(param), v=np.zeros_like(param))


def adam_step(
    param: np.ndarray,
    grad: np.ndarray,
    state: AdamState,
    lr: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
) -> np.ndarray:
    """One Adam update (Kingma & Ba 2015, Alg. 1); updates ``state`` and returns the new param.

    m_t = β₁ m_{t−1} + (1 − β₁) g_t            v_t = β₂ v_{t−1} + (1 − β₂) g_t²
    m̂_t = m_t / (1 − β₁ᵗ)                      v̂_t = v_t / (1 − β₂ᵗ)
    θ_t = θ_{t−1} − lr · m̂_t / (√v̂_t + ε)

    The bias corrections undo the pull of the zero initialisation of m and v towards 0:
    without them the first step is (1 − β₁)/√(1 − β₂) ≈ 3.2 times the corrected one.
    """
    beta1, beta2 = betas
    state.t += 1
    state.m = beta1 * state.m + (1.0 - beta1) * grad
    state.v = beta2 * state.v + (1.0 - beta2) * grad * grad
    m_hat = state.m / (1.0 - beta1**state.t)
    v_hat = state.v / (1.0 - beta2**state.t)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps)


def logistic_gradient(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """∇ of the mean logistic loss + 0.01/2 ||w||²: Xᵀ(σ(Xw) − y)/n + 0.01 w."""

    def gradient(w: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        return x.T @ (p - y) / y.size + 0.01 * w

    return gradient


# ---------------------------------------------------------------- SVM dual by SMO


@dataclass(frozen=True)
class LinearSVM:
    """The dual solution α and the primal (w, b) recovered from it."""

    alpha: np.ndarray
    coef: np.ndarray
    intercept: float
    iterations: int


def _violating_pair(
    alpha: np.ndarray, y: np.ndarray, grad: np.ndarray, c: float
) -> tuple[int, int, float]:
    """LIBSVM's WSS1: i = argmax_{I_up} −yG, j = argmin_{I_low} −yG; returns (i, j, gap).

    I_up = {t: α_t < C, y_t = +1} ∪ {t: α_t > 0, y_t = −1},
    I_low = {t: α_t < C, y_t = −1} ∪ {t: α_t > 0, y_t = +1}.
    α is optimal (KKT) iff gap = max_{I_up} −yG − min_{I_low} −yG ≤ 0.
    """
    score = -y * grad
    up = ((alpha < c) & (y > 0)) | ((alpha > 0) & (y < 0))
    low = ((alpha < c) & (y < 0)) | ((alpha > 0) & (y > 0))
    i = int(np.argmax(np.where(up, score, -np.inf)))
    j = int(np.argmin(np.where(low, score, np.inf)))
    return i, j, float(score[i] - score[j])


def _intercept(alpha: np.ndarray, y: np.ndarray, grad: np.ndarray, c: float) -> float:
    """b = mean over margin SVs (0 < α < C) of y_t − wᵀx_t, which equals −y_t G_t.

    With no margin SV, b is only bracketed by the KKT conditions; take the midpoint
    of the bracket, as LIBSVM does.
    """
    score = -y * grad
    free = (alpha > 0) & (alpha < c)
    if np.any(free):
        return float(np.mean(score[free]))
    up = ((alpha < c) & (y > 0)) | ((alpha > 0) & (y < 0))
    low = ((alpha < c) & (y < 0)) | ((alpha > 0) & (y > 0))
    return 0.5 * float(np.max(score[up]) + np.min(score[low]))


def svm_dual_smo(
    x: np.ndarray, y: np.ndarray, c: float = 1.0, tol: float = 1e-8, max_iter: int = 100_000
) -> LinearSVM:
    """Linear soft-margin SVM via its dual, solved by SMO.

    Dual: max_α Σ αᵢ − ½ αᵀ (yyᵀ ∘ K) α,  0 ≤ αᵢ ≤ C,  Σ αᵢ yᵢ = 0,  K = X Xᵀ.
    Equivalently min ½ αᵀQα − 1ᵀα with Q = yyᵀ ∘ K and gradient G = Qα − 1.
    Each step moves the maximal violating pair along u = yᵢ eᵢ − yⱼ eⱼ (which keeps
    Σ αy fixed): along u the objective changes by −gap·d + ½ d² (Kᵢᵢ + Kⱼⱼ − 2Kᵢⱼ),
    so d = gap / (Kᵢᵢ + Kⱼⱼ − 2Kᵢⱼ), clipped to the box. Stops when gap ≤ tol.
    Primal: w = Σ αᵢ yᵢ xᵢ, b from the margin support vectors (see ``_intercept``).
    """
    y = y.astype(np.float64)
    kernel = x @ x.T  # (n, n)
    q = np.outer(y, y) * kernel
    alpha = np.zeros(y.size)
    grad = -np.ones(y.size)
    iterations = 0
    i, j, gap = _violating_pair(alpha, y, grad, c)
    while gap > tol and iterations < max_iter:
        iterations += 1
        curvature = max(kernel[i, i] + kernel[j, j] - 2.0 * kernel[i, j], 1e-12)
        room_i = c - alpha[i] if y[i] > 0 else alpha[i]  # α_i moves by +y_i d
        room_j = alpha[j] if y[j] > 0 else c - alpha[j]  # α_j moves by −y_j d
        d = min(gap / curvature, room_i, room_j)
        old_i, old_j = alpha[i], alpha[j]
        alpha[i] = np.clip(old_i + y[i] * d, 0.0, c)
        alpha[j] = np.clip(old_j - y[j] * d, 0.0, c)
        if d == room_i:  # land exactly on the bound, so "free" means 0 < α < C
            alpha[i] = c if y[i] > 0 else 0.0
        if d == room_j:
            alpha[j] = 0.0 if y[j] > 0 else c
        grad += q[:, i] * (alpha[i] - old_i) + q[:, j] * (alpha[j] - old_j)
        i, j, gap = _violating_pair(alpha, y, grad, c)
    coef = (alpha * y) @ x  # w = Σ αᵢ yᵢ xᵢ, shape (d,)
    return LinearSVM(alpha, coef, _intercept(alpha, y, grad, c), iterations)


def svm_blobs(rng: np.random.Generator, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping 2-D Gaussian blobs at ±(1, 1), unit variance; labels ±1."""
    half = n_samples // 2
    x = np.vstack([rng.normal(1.0, 1.0, (half, 2)), rng.normal(-1.0, 1.0, (n_samples - half, 2))])
    return x, np.r_[np.ones(half), -np.ones(n_samples - half)]
