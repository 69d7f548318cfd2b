"""Probability: Gaussian maximum likelihood, Beta–Binomial conjugacy, KL between Gaussians.

Three classic closed forms, each next to a numerical route to the same number,
so that a check can compare the two:

* Gaussian MLE — closed form μ̂ = (1/n) Σ xᵢ, σ̂² = (1/n) Σ (xᵢ − μ̂)² vs gradient ascent
  on the log-likelihood;
* Beta–Binomial — closed-form posterior Beta(α + k, β + n − k) vs prior × likelihood
  normalised on a grid;
* KL(p || q) of two Gaussians — closed form vs the Monte Carlo average of
  log p(x) − log q(x) over x ~ p.

(Bishop, *Pattern Recognition and Machine Learning*, §2.1–2.3; the Gaussian KL is
eq. 1.113 specialised in Murphy, *Probabilistic Machine Learning*, §6.2.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LOG_2PI = math.log(2.0 * math.pi)

# ---------------------------------------------------------------- Gaussian MLE


def gaussian_mle_closed_form(x: np.ndarray) -> tuple[float, float]:
    """μ̂ = (1/n) Σ xᵢ and σ̂² = (1/n) Σ (xᵢ − μ̂)² (biased: the MLE divides by n, not n − 1)."""
    mean = float(np.mean(x))
    return mean, float(np.mean((x - mean) ** 2))


def gaussian_mle_gradient_ascent(
    x: np.ndarray, steps: int = 2000, lr: float = 0.5
) -> tuple[float, float]:
    """Maximise the average log-likelihood by gradient ascent in θ = (μ, s = log σ²).

    ℓ(μ, s) = −½ log 2π − s/2 − (1/2n) Σ (xᵢ − μ)² e^{−s}
    ∂ℓ/∂μ = e^{−s} (1/n) Σ (xᵢ − μ),   ∂ℓ/∂s = −½ + e^{−s} (1/2n) Σ (xᵢ − μ)².

    Working in log σ² keeps σ² positive without a constraint. Near the optimum the
    Hessian is diag(−1/σ², −½), so a step of lr contracts the errors by
    (1 − lr/σ²) and (1 − lr/2) per iteration.
    """
    mu, log_var = 0.0, 0.0
    for _ in range(steps):
        inv_var = math.exp(-log_var)
        centred = x - mu
        grad_mu = inv_var * float(np.mean(centred))
        grad_log_var = -0.5 + 0.5 * inv_var * float(np.mean(centred**2))
        mu += lr * grad_mu
        log_var += lr * grad_log_var
    return mu, math.exp(log_var)


def gaussian_log_likelihood(x: np.ndarray, mean: float, var: float) -> float:
    """Σᵢ log N(xᵢ | μ, σ²) = −(n/2) log 2πσ² − Σ (xᵢ − μ)² / 2σ²."""
    return float(-0.5 * x.size * (LOG_2PI + math.log(var)) - np.sum((x - mean) ** 2) / (2 * var))


# ---------------------------------------------------------------- Beta–Binomial


def beta_log_pdf(theta: np.ndarray, a: float, b: float) -> np.ndarray:
    """log Beta(θ | a, b) = (a − 1) log θ + (b − 1) log(1 − θ) − log B(a, b),

    with log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b).
    """
    log_norm = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return (a - 1.0) * np.log(theta) + (b - 1.0) * np.log1p(-theta) - log_norm


def beta_binomial_posterior(
    alpha: float, beta: float, trials: int, successes: int
) -> tuple[float, float]:
    """Conjugacy: Beta(α, β) prior × Binomial(k | n, θ) → Beta(α + k, β + n − k) posterior."""
    return alpha + successes, beta + trials - successes


def beta_mean_var(a: float, b: float) -> tuple[float, float]:
    """E[θ] = a / (a + b),  Var[θ] = ab / ((a + b)² (a + b + 1))."""
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1.0))


def grid_posterior(
    alpha: float, beta: float, trials: int, successes: int, grid_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """The posterior density on a midpoint grid of (0, 1): prior × likelihood, normalised.

    p(θ | k) ∝ Beta(θ | α, β) · θ^k (1 − θ)^{n−k}; the binomial coefficient cancels in
    the normalisation. Computed in log space (the likelihood underflows for large n)
    and normalised with the midpoint rule, so the density integrates to 1 on the grid.
    Returns (θ grid, density).
    """
    width = 1.0 / grid_points
    theta = (np.arange(grid_points) + 0.5) * width  # midpoints: no θ = 0 or 1
    log_unnorm = beta_log_pdf(theta, alpha, beta)
    log_unnorm += successes * np.log(theta) + (trials - successes) * np.log1p(-theta)
    unnorm = np.exp(log_unnorm - np.max(log_unnorm))
    return theta, unnorm / (np.sum(unnorm) * width)


# ---------------------------------------------------------------- KL of Gaussians


def kl_gaussian_univariate(mu_p: float, var_p: float, mu_q: float, var_q: float) -> float:
    """KL(N(μp, σp²) || N(μq, σq²)) = log(σq/σp) + (σp² + (μp − μq)²) / (2σq²) − ½."""
    return 0.5 * math.log(var_q / var_p) + (var_p + (mu_p - mu_q) ** 2) / (2.0 * var_q) - 0.5


def kl_gaussian_multivariate(
    mu_p: np.ndarray, cov_p: np.ndarray, mu_q: np.ndarray, cov_q: np.ndarray
) -> float:
    """KL(N(μp, Σp) || N(μq, Σq)) in k dimensions:

    ½ [ tr(Σq⁻¹ Σp) + (μq − μp)ᵀ Σq⁻¹ (μq − μp) − k + log det Σq − log det Σp ].
    """
    k = mu_p.size
    diff = mu_q - mu_p
    trace = float(np.trace(np.linalg.solve(cov_q, cov_p)))
    mahalanobis = float(diff @ np.linalg.solve(cov_q, diff))
    logdet_q = np.linalg.slogdet(cov_q)[1]
    logdet_p = np.linalg.slogdet(cov_p)[1]
    return 0.5 * (trace + mahalanobis - k + logdet_q - logdet_p)


def gaussian_log_pdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x | μ, Σ) = −½ [k log 2π + log det Σ + ||L⁻¹ (x − μ)||²], Σ = L Lᵀ; x (n, k)."""
    chol = np.linalg.cholesky(cov)  # (k, k) lower
    whitened = np.linalg.solve(chol, (x - mean).T)  # (k, n)
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    return -0.5 * (mean.size * LOG_2PI + logdet + np.sum(whitened**2, axis=0))


@dataclass(frozen=True)
class MonteCarloEstimate:
    """A Monte Carlo mean and its standard error std / √n."""

    mean: float
    standard_error: float


def kl_monte_carlo(
    mu_p: np.ndarray,
    cov_p: np.ndarray,
    mu_q: np.ndarray,
    cov_q: np.ndarray,
    samples: int,
    rng: np.random.Generator,
) -> MonteCarloEstimate:
    """KL(p || q) = E_{x~p}[log p(x) − log q(x)] ≈ (1/N) Σ rᵢ, SE = std(r) / √N.

    Samples x = μp + L z with z ~ N(0, I), Σp = L Lᵀ.
    """
    chol = np.linalg.cholesky(cov_p)
    x = mu_p + rng.standard_normal((samples, mu_p.size)) @ chol.T  # (N, k)
    log_ratio = gaussian_log_pdf(x, mu_p, cov_p) - gaussian_log_pdf(x, mu_q, cov_q)
    return MonteCarloEstimate(
        mean=float(np.mean(log_ratio)),
        standard_error=float(np.std(log_ratio, ddof=1) / math.sqrt(samples)),
    )
