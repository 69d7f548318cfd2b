"""The geometry of regularisation: ridge (L2) shrinks, lasso (L1) sets exact zeros.

Objectives, in scikit-learn's scalings (stated because they differ by a factor 2n):

    ridge:  min_{w,b} ||y − Xw − b||² + α ||w||²              (``sklearn.linear_model.Ridge``)
    lasso:  min_{w,b} (1/2n) ||y − Xw − b||² + α ||w||₁        (``sklearn.linear_model.Lasso``)

The intercept b is not penalised, so at the optimum b = ȳ − x̄ᵀw and both reduce
to the centred problem (X_c = X − x̄, y_c = y − ȳ). Multiplying the ridge objective
by 1/2n shows that ridge at α_ridge = 2nα and lasso at α put the same weight α on
their penalty; the path plot uses that common axis.

Geometry. Written as a constraint, ||w||₁ ≤ t is a diamond with corners on the axes;
the elliptical level sets of the squared error usually first touch it at a corner
or an edge, where some w_j = 0. In optimality terms (KKT), lasso's w_j = 0 exactly
when |x_jᵀr| / n ≤ α (r the residual): the subgradient of |w_j| at 0 is the whole
interval [−1, 1], so zero is optimal for a whole range of data, and for
α ≥ α_max = ||X_cᵀy_c||_∞ / n every coefficient is 0. The ball ||w||₂ ≤ t is round:
ridge's optimality condition X_cᵀ(y_c − X_c w) = α w gives w_j = 0 only when
x_jᵀr = 0, an event of probability zero for continuous data — ridge shrinks every
coefficient towards 0 and never reaches it.

Ridge: closed form (X_cᵀX_c + αI) w = X_cᵀy_c. Lasso: cyclic coordinate descent,
w_j ← S(x_jᵀ r_j / n, α) / (x_jᵀx_j / n) with r_j = y_c − X_c w + x_j w_j and the
soft threshold S(z, t) = sign(z)·max(|z| − t, 0) (Friedman et al., 2010, "Regularization
paths for generalized linear models via coordinate descent").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ai_roadmap.checks import CheckRecord, record


@dataclass(frozen=True)
class LinearFit:
    """Coefficients w, intercept b and (for iterative solvers) the sweeps used."""

    coef: np.ndarray
    intercept: float
    n_iter: int = 0


@dataclass(frozen=True)
class RegressionData:
    """Correlated Gaussian features with a sparse true coefficient vector."""

    x: np.ndarray  # (n, p)
    y: np.ndarray  # (n,)
    true_coef: np.ndarray  # (p,)


def make_data(
    rng: np.random.Generator, n_samples: int, n_features: int, correlation: float, noise_sd: float
) -> RegressionData:
    """x ~ N(0, Σ) with Σ_ij = ρ^|i−j|; every third coefficient non-zero (3, −2, 1.5, …)."""
    idx = np.arange(n_features)
    cov = correlation ** np.abs(idx[:, None] - idx[None, :])
    x = rng.standard_normal((n_samples, n_features)) @ np.linalg.cholesky(cov).T
    true_coef = np.zeros(n_features)
    informative = idx[::3]
    true_coef[informative] = 3.0 * (-2.0 / 3.0) ** np.arange(len(informative))
    y = x @ true_coef + 1.0 + noise_sd * rng.standard_normal(n_samples)
    return RegressionData(x, y, true_coef)


def centre(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(X − x̄, y − ȳ, x̄, ȳ): the unpenalised intercept is solved by centring."""
    x_mean, y_mean = x.mean(axis=0), float(y.mean())
    return x - x_mean, y - y_mean, x_mean, y_mean


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> LinearFit:
    """argmin ||y − Xw − b||² + α||w||²: w = (X_cᵀX_c + αI)⁻¹ X_cᵀy_c, b = ȳ − x̄ᵀw."""
    xc, yc, x_mean, y_mean = centre(x, y)
    coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return LinearFit(coef, y_mean - float(x_mean @ coef))


def soft_threshold(z: float, threshold: float) -> float:
    """S(z, t) = sign(z)·max(|z| − t, 0): the proximal map of t|·|."""
    return float(np.sign(z) * max(abs(z) - threshold, 0.0))


def lasso_fit(
    x: np.ndarray,
    y: np.ndarray,
    alpha: float,
    tol: float = 1e-13,
    max_iter: int = 100_000,
) -> LinearFit:
    """argmin (1/2n)||y − Xw − b||² + α||w||₁ by cyclic coordinate descent.

    Stops when a full sweep moves no coefficient by more than tol·max(1, max|w|).
    """
    xc, yc, x_mean, y_mean = centre(x, y)
    n, p = xc.shape
    coef = np.zeros(p)
    col_sq = np.einsum("ij,ij->j", xc, xc) / n  # x_jᵀx_j / n
    residual = yc - xc @ coef
    sweep = 0
    while sweep < max_iter:
        sweep += 1
        largest_step = 0.0
        for j in range(p):
            old = coef[j]
            rho = xc[:, j] @ residual / n + col_sq[j] * old  # x_jᵀ r_j / n
            coef[j] = soft_threshold(rho, alpha) / col_sq[j]
            if coef[j] != old:
                residual -= xc[:, j] * (coef[j] - old)
                largest_step = max(largest_step, abs(coef[j] - old))
        if largest_step <= tol * max(1.0, float(np.max(np.abs(coef)))):
            break
    return LinearFit(coef, y_mean - float(x_mean @ coef), sweep)


def lasso_alpha_max(x: np.ndarray, y: np.ndarray) -> float:
    """α_max = ||X_cᵀy_c||_∞ / n: the smallest α at which every lasso coefficient is 0."""
    xc, yc, _, _ = centre(x, y)
    return float(np.max(np.abs(xc.T @ yc)) / len(y))


Fit = Callable[[np.ndarray, np.ndarray, float], LinearFit]


def paths(
    data: RegressionData, alphas: np.ndarray, lasso: Fit = lasso_fit, ridge: Fit = ridge_fit
) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient paths (len(alphas), p): lasso at α and ridge at the matching 2nα."""
    n = len(data.y)
    lasso_path = np.stack([lasso(data.x, data.y, a).coef for a in alphas])
    ridge_path = np.stack([ridge(data.x, data.y, 2.0 * n * a).coef for a in alphas])
    return lasso_path, ridge_path


def check_ridge_sklearn(
    data: RegressionData, alpha: float, ridge: Fit = ridge_fit, tolerance: float = 1e-10
) -> CheckRecord:
    """max |w − coef_|, |b − intercept_| against ``Ridge(alpha, solver="cholesky")``.

    Two direct solves of the same p×p system: only round-off (~1e-14) separates them.
    """
    from sklearn.linear_model import Ridge

    ours = ridge(data.x, data.y, alpha)
    ref = Ridge(alpha=alpha, solver="cholesky").fit(data.x, data.y)
    error = max(float(np.max(np.abs(ours.coef - ref.coef_))), abs(ours.intercept - ref.intercept_))
    return record("ridge_sklearn", error, tolerance, f"α = {alpha:g}, X {data.x.shape}")


def check_lasso_sklearn(
    data: RegressionData,
    alpha_fractions: tuple[float, ...],
    lasso: Fit = lasso_fit,
    tolerance: float = 1e-6,
) -> CheckRecord:
    """max |w − coef_|, |b − intercept_| against ``Lasso(alpha, tol=1e-12)`` at α = fraction·α_max.

    The objective is unique (X has full column rank), so the two solvers converge to
    one point; the tolerance allows for where each stops.
    """
    from sklearn.linear_model import Lasso

    alpha_max = lasso_alpha_max(data.x, data.y)
    worst, zeros = 0.0, []
    for fraction in alpha_fractions:
        alpha = fraction * alpha_max
        ours = lasso(data.x, data.y, alpha)
        ref = Lasso(alpha=alpha, tol=1e-12, max_iter=1_000_000).fit(data.x, data.y)
        gap = max(
            float(np.max(np.abs(ours.coef - ref.coef_))), abs(ours.intercept - ref.intercept_)
        )
        worst = max(worst, gap)
        zeros.append(int(np.sum(ours.coef == 0.0)))
    detail = f"α/α_max = {list(alpha_fractions)}, exact zeros {zeros} of {data.x.shape[1]}"
    return record("lasso_sklearn", worst, tolerance, detail)


def check_exact_zeros(
    data: RegressionData,
    n_alphas: int,
    lasso: Fit = lasso_fit,
    ridge: Fit = ridge_fit,
    tolerance: float = 0.0,
) -> CheckRecord:
    """Count of violations of what the geometry predicts (tolerance 0).

    Along α from α_max down to 1e-3·α_max (ridge at 2nα): every ridge coefficient
    that is exactly 0 is a violation; so is every lasso coefficient that is not
    exactly 0 at 1.01·α_max; and one more if no α on the path gives a lasso
    solution that is sparse but not empty (some but not all w_j exactly 0).
    """
    alpha_max = lasso_alpha_max(data.x, data.y)
    alphas = alpha_max * np.logspace(0.0, -3.0, n_alphas)
    lasso_path, ridge_path = paths(data, alphas, lasso, ridge)
    ridge_zeros = int(np.sum(ridge_path == 0.0))
    above_max = int(np.sum(lasso(data.x, data.y, 1.01 * alpha_max).coef != 0.0))
    zeros_per_alpha = np.sum(lasso_path == 0.0, axis=1)
    p = data.x.shape[1]
    partly_sparse = bool(np.any((zeros_per_alpha > 0) & (zeros_per_alpha < p)))
    error = ridge_zeros + above_max + (0 if partly_sparse else 1)
    detail = (
        f"ridge exact zeros {ridge_zeros}; lasso non-zeros above α_max {above_max}; "
        f"lasso zeros along the path {zeros_per_alpha.min()}–{zeros_per_alpha.max()} of {p}"
    )
    return record("l1_exact_zeros", float(error), tolerance, detail)
