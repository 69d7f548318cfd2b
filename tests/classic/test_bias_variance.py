"""s2.theory bias–variance: the decomposition on hand-made numbers, the simulation's
shapes, and each check passing on ours and failing on a deliberately wrong variant.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_roadmap.checks import CheckRecord
from ai_roadmap.classic import bias_variance as bv


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


@pytest.fixture(scope="module")
def sim() -> bv.Simulation:
    return bv.simulate(
        np.random.default_rng(0), 30, 25, 0.3, 80, degrees=(0, 1, 3, 5, 8), depths=(1, 3, 6)
    )


def test_decompose_on_hand_computed_values() -> None:
    """Two rounds, one test point, f = 0: fits 1 and 3, labels 0.5 and −0.5."""
    predictions = np.array([[[1.0], [3.0]]])  # (C = 1, B = 2, T = 1)
    terms = bv.decompose(predictions, np.array([0.0]), np.array([[0.5], [-0.5]]))
    assert terms.bias_sq[0] == pytest.approx(4.0)  # h̄ = 2
    assert terms.variance[0] == pytest.approx(1.0)  # ((1 − 2)² + (3 − 2)²) / 2
    assert terms.noise[0] == pytest.approx(0.25)


def test_simulation_shapes_and_determinism(sim: bv.Simulation) -> None:
    poly, tree = sim.families
    assert poly.predictions.shape == (5, 80, 25)
    assert tree.predictions.shape == (3, 80, 25)
    assert sim.y_test.shape == (80, 25)
    again = bv.simulate(np.random.default_rng(0), 30, 25, 0.3, 80, (0, 1, 3, 5, 8), (1, 3, 6))
    np.testing.assert_array_equal(again.families[0].predictions, poly.predictions)


def test_degree_zero_is_the_training_mean() -> None:
    x, y = np.linspace(0, 1, 7), np.arange(7.0)
    np.testing.assert_allclose(
        bv.polynomial_predictions(x, y, np.array([0.2, 0.9]), (0,)), [[3.0, 3.0]], rtol=1e-12
    )


def test_polynomial_fit_matches_numpy_polyfit() -> None:
    g = np.random.default_rng(1)
    x, y, x_test = g.uniform(0, 1, 20), g.standard_normal(20), np.linspace(0, 1, 9)
    expected = np.polyval(np.polyfit(x, y, 4), x_test)
    np.testing.assert_allclose(
        bv.polynomial_predictions(x, y, x_test, (4,))[0], expected, rtol=1e-8, atol=1e-8
    )


def test_too_high_a_degree_is_refused() -> None:
    with pytest.raises(ValueError, match="training points"):
        bv.simulate(np.random.default_rng(0), 5, 10, 0.3, 3, degrees=(5,), depths=(1,))


def test_the_three_checks_pass(sim: bv.Simulation) -> None:
    for check in (bv.check_identity, bv.check_decomposition, bv.check_tradeoff):
        rec = check(sim)
        assert rec.passed, rec
    assert bv.check_identity(sim).error < 1e-12


def test_variance_with_one_over_b_minus_one_breaks_the_identity(sim: bv.Simulation) -> None:
    def unbiased_variance(predictions, f_test, y_test):
        terms = bv.decompose(predictions, f_test, y_test)
        b = predictions.shape[1]
        return bv.Decomposition(terms.bias_sq, terms.variance * b / (b - 1), terms.noise)

    assert_detected(bv.check_identity(sim, unbiased_variance))


def test_unsquared_bias_is_detected(sim: bv.Simulation) -> None:
    def abs_bias(predictions, f_test, y_test):
        terms = bv.decompose(predictions, f_test, y_test)
        bias = np.mean(np.abs(predictions.mean(axis=1) - f_test), axis=1)
        return bv.Decomposition(bias, terms.variance, terms.noise)

    assert_detected(bv.check_identity(sim, abs_bias))
    assert_detected(bv.check_decomposition(sim, abs_bias))


def test_forgetting_the_noise_is_detected(sim: bv.Simulation) -> None:
    def no_noise(predictions, f_test, y_test):
        terms = bv.decompose(predictions, f_test, y_test)
        return bv.Decomposition(terms.bias_sq, terms.variance, np.zeros_like(terms.noise))

    assert bv.check_identity(sim, no_noise).passed  # the noise-free identity cannot see it
    assert_detected(bv.check_decomposition(sim, no_noise))


def test_noise_taken_as_sigma_not_sigma_squared_is_detected(sim: bv.Simulation) -> None:
    def sigma(predictions, f_test, y_test):
        terms = bv.decompose(predictions, f_test, y_test)
        return bv.Decomposition(terms.bias_sq, terms.variance, np.sqrt(terms.noise))

    assert_detected(bv.check_decomposition(sim, sigma))


def test_swapped_bias_and_variance_break_the_tradeoff(sim: bv.Simulation) -> None:
    def swapped(predictions, f_test, y_test):
        terms = bv.decompose(predictions, f_test, y_test)
        return bv.Decomposition(terms.variance, terms.bias_sq, terms.noise)

    assert bv.check_identity(sim, swapped).passed  # the sum is symmetric in the two
    assert_detected(bv.check_tradeoff(sim, swapped))
