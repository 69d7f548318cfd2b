"""The stage-1 theory pieces against trusted libraries (float64): matrix calculus vs
torch autograd, the Gaussian MLE vs scipy's maximiser, Beta pieces, Gaussian KL and
log-densities vs torch and scipy, the quadratic GD problem, and the SMO dual solution.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ai_roadmap.foundations import theory_linalg as la
from ai_roadmap.foundations import theory_optimisation as opt
from ai_roadmap.foundations import theory_probability as prob

pytestmark = pytest.mark.reference


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- 1. matrix calculus


def test_matrix_gradient_matches_torch_autograd() -> None:
    import torch

    g = rng(1)
    x, y = g.standard_normal((12, 4)), g.standard_normal((12, 3))
    w, a = g.standard_normal((4, 3)), g.standard_normal((4, 4))
    w_t = torch.tensor(w, requires_grad=True)
    x_t, y_t, a_t = (torch.tensor(v) for v in (x, y, a))
    loss = ((x_t @ w_t - y_t) ** 2).sum() + 0.3 * torch.trace(w_t.T @ a_t @ w_t)
    loss.backward()
    assert la.matrix_objective(w, x, y, a, 0.3) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(
        la.matrix_objective_gradient(w, x, y, a, 0.3), w_t.grad.numpy(), rtol=1e-12, atol=1e-12
    )


# ---------------------------------------------------------------- 2. Gaussian MLE


def test_gaussian_mle_closed_form_is_the_scipy_maximiser() -> None:
    from scipy.optimize import minimize
    from scipy.stats import norm

    x = rng(2).normal(-1.0, 0.7, 300)
    assert prob.gaussian_log_likelihood(x, 0.2, 1.3) == pytest.approx(
        float(np.sum(norm.logpdf(x, 0.2, math.sqrt(1.3)))), rel=1e-12
    )
    found = minimize(
        lambda t: -prob.gaussian_log_likelihood(x, t[0], math.exp(t[1])),
        x0=np.zeros(2),
        method="BFGS",
        options={"gtol": 1e-10},
    )
    mu_hat, var_hat = prob.gaussian_mle_closed_form(x)
    assert found.x[0] == pytest.approx(mu_hat, abs=1e-6)
    assert math.exp(found.x[1]) == pytest.approx(var_hat, rel=1e-6)
    fit_mu, fit_sigma = norm.fit(x)  # scipy's closed-form MLE returns (μ, σ)
    assert fit_mu == pytest.approx(mu_hat, rel=1e-12)
    assert fit_sigma**2 == pytest.approx(var_hat, rel=1e-12)


# ---------------------------------------------------------------- 3. Beta–Binomial


def test_beta_pieces_match_scipy() -> None:
    from scipy.stats import beta as beta_dist

    theta = np.linspace(0.01, 0.99, 50)
    np.testing.assert_allclose(
        prob.beta_log_pdf(theta, 2.5, 7.0), beta_dist.logpdf(theta, 2.5, 7.0), rtol=1e-12
    )
    mean, var = beta_dist.stats(15.0, 30.0, moments="mv")
    np.testing.assert_allclose(prob.beta_mean_var(15.0, 30.0), (mean, var), rtol=1e-12)
    grid, density = prob.grid_posterior(2.0, 3.0, 40, 13, 2001)
    np.testing.assert_allclose(density, beta_dist.pdf(grid, 15.0, 30.0), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------- 4. KL of Gaussians


def test_kl_closed_forms_and_log_pdf_match_torch_and_scipy() -> None:
    import torch
    from scipy.stats import multivariate_normal
    from torch.distributions import MultivariateNormal, Normal, kl_divergence

    def t(v):
        return torch.tensor(v, dtype=torch.float64)

    expected = kl_divergence(Normal(t(0.3), t(1.2)), Normal(t(-0.5), t(0.8))).item()
    assert prob.kl_gaussian_univariate(0.3, 1.44, -0.5, 0.64) == pytest.approx(expected, rel=1e-12)
    g = rng(3)
    mu_p, mu_q = g.standard_normal(4), g.standard_normal(4)
    b_p, b_q = g.standard_normal((4, 4)), g.standard_normal((4, 4))
    cov_p, cov_q = b_p @ b_p.T + 0.5 * np.eye(4), b_q @ b_q.T + 0.5 * np.eye(4)
    expected = kl_divergence(
        MultivariateNormal(t(mu_p), t(cov_p)), MultivariateNormal(t(mu_q), t(cov_q))
    ).item()
    got = prob.kl_gaussian_multivariate(mu_p, cov_p, mu_q, cov_q)
    assert got == pytest.approx(expected, rel=1e-10)
    x = g.standard_normal((20, 4))
    np.testing.assert_allclose(
        prob.gaussian_log_pdf(x, mu_p, cov_p),
        multivariate_normal(mu_p, cov_p).logpdf(x),
        rtol=1e-12,
    )


# ---------------------------------------------------------------- 5. gradient descent


@pytest.fixture
def quadratic() -> opt.QuadraticProblem:
    return opt.quadratic_problem(rng(4), dim=20, condition=30.0)


def test_quadratic_problem_has_the_stated_spectrum(quadratic: opt.QuadraticProblem) -> None:
    eigenvalues = np.linalg.eigvalsh(quadratic.a)
    assert eigenvalues[0] == pytest.approx(quadratic.mu, rel=1e-10)
    assert eigenvalues[-1] == pytest.approx(quadratic.lipschitz, rel=1e-10)


def test_gd_errors_follow_the_scipy_eigendecomposition(quadratic: opt.QuadraticProblem) -> None:
    """e_k = ||Σᵢ (1 − ηλᵢ)^k cᵢ vᵢ|| with (λᵢ, vᵢ) from scipy and c = Vᵀ(x_0 − x*)."""
    from scipy.linalg import eigh, solve

    eigenvalues, vectors = eigh(quadratic.a)
    coords = vectors.T @ (quadratic.x0 - solve(quadratic.a, quadratic.b, assume_a="pos"))
    step, k = 1.0 / quadratic.lipschitz, np.arange(101)[:, None]
    expected = np.linalg.norm((1.0 - step * eigenvalues) ** k * coords, axis=1)
    errors = opt.gradient_descent_errors(quadratic.a, quadratic.b, step, 100, quadratic.x0)
    np.testing.assert_allclose(errors, expected, rtol=1e-9)


# ---------------------------------------------------------------- 7. SVM dual


def test_smo_solution_is_dual_feasible_with_margin_svs() -> None:
    x, y = opt.svm_blobs(rng(5), 60)
    svm = opt.svm_dual_smo(x, y, c=1.0, tol=1e-8)
    assert np.all((svm.alpha >= 0) & (svm.alpha <= 1.0))
    assert abs(svm.alpha @ y) < 1e-10
    free = (svm.alpha > 0) & (svm.alpha < 1.0)
    assert free.any()
    np.testing.assert_allclose(y[free] * (x[free] @ svm.coef + svm.intercept), 1.0, atol=1e-6)
