"""s1.theory's checks: each passes with its tolerance and each fails on a deliberately
wrong variant of the piece it checks (float64).
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace

import numpy as np
import pytest

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.foundations import theory_optimisation as opt
from ai_roadmap.foundations import theory_probability as prob
from ai_roadmap.milestones.s1 import theory as th

pytestmark = pytest.mark.reference


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


# ---------------------------------------------------------------- record


def test_record_passes_on_error_at_most_tolerance_and_never_on_nan() -> None:
    assert record("x", 1e-7, 1e-6).passed
    assert not record("x", 2e-6, 1e-6).passed
    assert not record("x", math.nan, 1e-6).passed


# ---------------------------------------------------------------- 1. matrix calculus


def test_matrix_gradient_passes() -> None:
    rec = th.check_matrix_grad(rng())
    assert rec.passed, rec
    assert rec.error < 1e-6


def test_matrix_gradient_assuming_symmetric_a_is_detected() -> None:
    def symmetric_slip(w, x, y, a, l2):  # 2λAW is right only for symmetric A
        return 2.0 * x.T @ (x @ w - y) + 2.0 * l2 * a @ w

    assert_detected(th.check_matrix_grad(rng(), gradient=symmetric_slip))


def test_matrix_gradient_missing_transpose_is_detected() -> None:
    def missing_transpose(w, x, y, a, l2):  # X instead of Xᵀ: same shape when X is square
        return 2.0 * x @ (x @ w - y) + l2 * (a + a.T) @ w

    rec = th.check_matrix_grad(rng(), n_samples=6, n_features=6, gradient=missing_transpose)
    assert_detected(rec)


# ---------------------------------------------------------------- 2. Gaussian MLE


def test_gaussian_mle_passes() -> None:
    rec = th.check_gaussian_mle(rng())
    assert rec.passed, rec


def test_gaussian_mle_with_unbiased_variance_is_detected() -> None:
    def unbiased(x):  # 1/(n − 1): the unbiased estimator, not the maximiser
        return float(np.mean(x)), float(np.var(x, ddof=1))

    assert_detected(th.check_gaussian_mle(rng(), n_samples=2000, closed_form=unbiased))


# ---------------------------------------------------------------- 3. Beta–Binomial


def test_beta_binomial_passes() -> None:
    rec = th.check_beta_binomial()
    assert rec.passed, rec


@pytest.mark.parametrize(
    "wrong",
    [
        lambda a, b, n, k: (a + k, b + n),  # failures counted as n, not n − k
        lambda a, b, n, k: (a + k - 1, b + n - k),  # off by one
    ],
)
def test_beta_binomial_wrong_posterior_is_detected(wrong) -> None:
    assert_detected(th.check_beta_binomial(posterior=wrong))


# ---------------------------------------------------------------- 4. KL of Gaussians


def test_kl_checks_pass() -> None:
    assert th.check_kl_univariate(rng(), 50_000).passed
    assert th.check_kl_multivariate(rng(), 50_000, dim=4).passed


def test_kl_univariate_without_minus_half_is_detected() -> None:
    def no_half(mu_p, var_p, mu_q, var_q):
        return 0.5 * math.log(var_q / var_p) + (var_p + (mu_p - mu_q) ** 2) / (2 * var_q)

    assert_detected(th.check_kl_univariate(rng(), 20_000, kl=no_half))


def test_kl_multivariate_swapped_trace_and_reversed_kl_are_detected() -> None:
    def swapped_trace(mu_p, cov_p, mu_q, cov_q):  # tr(Σp⁻¹Σq) instead of tr(Σq⁻¹Σp)
        good = prob.kl_gaussian_multivariate(mu_p, cov_p, mu_q, cov_q)
        right = np.trace(np.linalg.solve(cov_q, cov_p))
        return good + 0.5 * (np.trace(np.linalg.solve(cov_p, cov_q)) - right)

    def reversed_kl(mu_p, cov_p, mu_q, cov_q):  # KL(q || p)
        return prob.kl_gaussian_multivariate(mu_q, cov_q, mu_p, cov_p)

    assert_detected(th.check_kl_multivariate(rng(), 20_000, dim=3, kl=swapped_trace))
    assert_detected(th.check_kl_multivariate(rng(), 20_000, dim=3, kl=reversed_kl))


# ---------------------------------------------------------------- 5. gradient descent


@pytest.fixture
def quadratic() -> opt.QuadraticProblem:
    return opt.quadratic_problem(rng(4), dim=20, condition=30.0)


def test_gd_rate_and_divergence_pass(quadratic: opt.QuadraticProblem) -> None:
    assert th.check_gd_rate(quadratic, 300).passed
    assert th.check_gd_divergence(quadratic, 300, step_scale=2.1).passed


def test_gd_with_step_above_two_over_l_breaks_the_bound(quadratic: opt.QuadraticProblem) -> None:
    assert_detected(th.check_gd_rate(quadratic, 300, step_scale=2.1))


def test_gd_with_step_below_two_over_l_does_not_diverge(quadratic: opt.QuadraticProblem) -> None:
    assert_detected(th.check_gd_divergence(quadratic, 300, step_scale=1.9))


# ---------------------------------------------------------------- 6. Adam


def test_adam_matches_torch() -> None:
    import torch  # noqa: F401  (torch is a dependency; the Adam check needs it)

    rec = th.check_adam_torch(rng(), steps=100)
    assert rec.passed, rec
    assert rec.error < 1e-10


def test_adam_without_bias_correction_is_detected() -> None:
    import torch  # noqa: F401  (torch is a dependency; the Adam check needs it)

    def no_bias_correction(param, grad, state, lr, betas, eps):
        state.t += 1
        state.m = betas[0] * state.m + (1 - betas[0]) * grad
        state.v = betas[1] * state.v + (1 - betas[1]) * grad * grad
        return param - lr * state.m / (np.sqrt(state.v) + eps)

    assert_detected(th.check_adam_torch(rng(), steps=20, step_fn=no_bias_correction))


def test_adam_with_eps_inside_the_root_is_detected() -> None:
    import torch  # noqa: F401  (torch is a dependency; the Adam check needs it)

    def eps_inside(param, grad, state, lr, betas, eps):
        state.t += 1
        state.m = betas[0] * state.m + (1 - betas[0]) * grad
        state.v = betas[1] * state.v + (1 - betas[1]) * grad * grad
        m_hat = state.m / (1 - betas[0] ** state.t)
        v_hat = state.v / (1 - betas[1] ** state.t)
        return param - lr * m_hat / np.sqrt(v_hat + eps)

    assert_detected(th.check_adam_torch(rng(), steps=20, step_fn=eps_inside))


def test_adam_without_torch_is_reported_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    rec = th.check_adam_torch(rng(), steps=5)
    assert not rec.passed
    assert math.isnan(rec.error)
    assert "torch not importable" in rec.detail


# ---------------------------------------------------------------- 7. SVM dual


def test_svm_dual_matches_sklearn() -> None:
    rec = th.check_svm_dual(rng(), n_samples=60)
    assert rec.passed, rec


def test_svm_wrong_primal_recovery_is_detected() -> None:
    def b_from_all_svs(x, y, c, tol):  # bound SVs (α = C) sit inside the margin: wrong b
        svm = opt.svm_dual_smo(x, y, c=c, tol=tol)
        sv = svm.alpha > 0
        return replace(svm, intercept=float(np.mean(y[sv] - x[sv] @ svm.coef)))

    def w_without_labels(x, y, c, tol):  # w = Σ αᵢ xᵢ, the yᵢ forgotten
        svm = opt.svm_dual_smo(x, y, c=c, tol=tol)
        return replace(svm, coef=svm.alpha @ x)

    assert_detected(th.check_svm_dual(rng(), n_samples=60, solver=b_from_all_svs))
    assert_detected(th.check_svm_dual(rng(), n_samples=60, solver=w_without_labels))


def test_svm_loose_solver_tolerance_is_detected() -> None:
    def loose(x, y, c, tol):  # stops at a KKT gap of 0.1
        return opt.svm_dual_smo(x, y, c=c, tol=0.1)

    assert_detected(th.check_svm_dual(rng(), n_samples=60, solver=loose))
