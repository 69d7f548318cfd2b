"""s2.theory regularisation: ridge and lasso against scikit-learn (same objective
scalings), the lasso optimality conditions, exact zeros, and each check failing on a
deliberately wrong variant.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_roadmap.checks import CheckRecord
from ai_roadmap.classic import regularisation as reg


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


@pytest.fixture(scope="module")
def data() -> reg.RegressionData:
    return reg.make_data(np.random.default_rng(0), 60, 8, 0.5, 1.0)


def test_soft_threshold() -> None:
    assert reg.soft_threshold(3.0, 1.0) == 2.0
    assert reg.soft_threshold(-3.0, 1.0) == -2.0
    assert reg.soft_threshold(0.5, 1.0) == 0.0
    assert reg.soft_threshold(-1.0, 1.0) == 0.0


@pytest.mark.parametrize("alpha", [1e-3, 1.0, 50.0])
def test_ridge_matches_sklearn(data: reg.RegressionData, alpha: float) -> None:
    from sklearn.linear_model import Ridge

    ours = reg.ridge_fit(data.x, data.y, alpha)
    ref = Ridge(alpha=alpha).fit(data.x, data.y)
    np.testing.assert_allclose(ours.coef, ref.coef_, rtol=1e-10, atol=1e-12)
    assert ours.intercept == pytest.approx(ref.intercept_, abs=1e-10)
    assert reg.check_ridge_sklearn(data, alpha).passed


@pytest.mark.parametrize("fraction", [0.9, 0.3, 0.05, 0.001])
def test_lasso_matches_sklearn(data: reg.RegressionData, fraction: float) -> None:
    from sklearn.linear_model import Lasso

    alpha = fraction * reg.lasso_alpha_max(data.x, data.y)
    ours = reg.lasso_fit(data.x, data.y, alpha)
    ref = Lasso(alpha=alpha, tol=1e-12, max_iter=1_000_000).fit(data.x, data.y)
    np.testing.assert_allclose(ours.coef, ref.coef_, rtol=0, atol=1e-6)
    assert ours.intercept == pytest.approx(ref.intercept_, abs=1e-6)
    np.testing.assert_array_equal(ours.coef == 0.0, ref.coef_ == 0.0)  # the same support


def test_lasso_satisfies_its_kkt_conditions(data: reg.RegressionData) -> None:
    """x_jᵀr/n = α sign(w_j) where w_j ≠ 0 and |x_jᵀr/n| ≤ α where w_j = 0."""
    alpha = 0.1 * reg.lasso_alpha_max(data.x, data.y)
    fit = reg.lasso_fit(data.x, data.y, alpha)
    xc, yc, _, _ = reg.centre(data.x, data.y)
    correlation = xc.T @ (yc - xc @ fit.coef) / len(data.y)
    active = fit.coef != 0.0
    assert active.any() and (~active).any()
    np.testing.assert_allclose(correlation[active], alpha * np.sign(fit.coef[active]), atol=1e-9)
    assert np.all(np.abs(correlation[~active]) <= alpha + 1e-12)


def test_lasso_is_empty_from_alpha_max_on(data: reg.RegressionData) -> None:
    alpha_max = reg.lasso_alpha_max(data.x, data.y)
    assert np.all(reg.lasso_fit(data.x, data.y, alpha_max * 1.001).coef == 0.0)
    assert np.sum(reg.lasso_fit(data.x, data.y, alpha_max * 0.95).coef != 0.0) >= 1
    assert reg.lasso_fit(data.x, data.y, alpha_max * 1.001).intercept == pytest.approx(
        data.y.mean(), rel=1e-12
    )


def test_the_three_checks_pass(data: reg.RegressionData) -> None:
    assert reg.check_ridge_sklearn(data, 5.0).passed
    assert reg.check_lasso_sklearn(data, (0.5, 0.1, 0.01)).passed
    rec = reg.check_exact_zeros(data, 20)
    assert rec.passed, rec


@pytest.mark.parametrize("scale", ["times_n", "over_n", "half"])
def test_ridge_with_the_wrong_penalty_scaling_is_detected(
    data: reg.RegressionData, scale: str
) -> None:
    n = len(data.y)
    factor = {"times_n": n, "over_n": 1.0 / n, "half": 0.5}[scale]

    def wrong(x, y, alpha):
        return reg.ridge_fit(x, y, alpha * factor)

    assert_detected(reg.check_ridge_sklearn(data, 5.0, ridge=wrong))


def test_ridge_penalising_the_intercept_is_detected(data: reg.RegressionData) -> None:
    def penalised_intercept(x, y, alpha):  # the intercept as a penalised column of ones
        design = np.hstack([np.ones((len(y), 1)), x])
        solution = np.linalg.solve(
            design.T @ design + alpha * np.eye(design.shape[1]), design.T @ y
        )
        return reg.LinearFit(solution[1:], float(solution[0]))

    assert_detected(reg.check_ridge_sklearn(data, 5.0, ridge=penalised_intercept))


@pytest.mark.parametrize("factor_name", ["no_one_over_n", "half"])
def test_lasso_with_the_wrong_objective_scaling_is_detected(
    data: reg.RegressionData, factor_name: str
) -> None:
    n = len(data.y)
    factor = {"no_one_over_n": 1.0 / n, "half": 0.5}[factor_name]

    def wrong(x, y, alpha):  # (1/2)||r||² + α||w||₁ is lasso at α/n in sklearn's scaling
        return reg.lasso_fit(x, y, alpha * factor)

    assert_detected(reg.check_lasso_sklearn(data, (0.5, 0.1), lasso=wrong))


def test_lasso_stopped_early_is_detected(data: reg.RegressionData) -> None:
    def two_sweeps(x, y, alpha):
        return reg.lasso_fit(x, y, alpha, max_iter=2)

    assert_detected(reg.check_lasso_sklearn(data, (0.01,), lasso=two_sweeps))


def test_a_smooth_penalty_has_no_exact_zeros_and_is_detected(data: reg.RegressionData) -> None:
    n = len(data.y)

    def ridge_as_lasso(x, y, alpha):
        return reg.ridge_fit(x, y, 2.0 * n * alpha)

    assert_detected(reg.check_exact_zeros(data, 20, lasso=ridge_as_lasso))


def test_a_ridge_that_thresholds_is_detected(data: reg.RegressionData) -> None:
    def thresholded_ridge(x, y, alpha):  # rounding small coefficients to 0 is not L2
        fit = reg.ridge_fit(x, y, alpha)
        return reg.LinearFit(np.where(np.abs(fit.coef) < 0.05, 0.0, fit.coef), fit.intercept)

    assert_detected(reg.check_exact_zeros(data, 20, ridge=thresholded_ridge))
