"""s2.theory kernels: the polynomial feature map reproduces the kernel exactly, our
kernels and kernel ridge match scikit-learn, random Fourier features converge to the
RBF kernel, and each check catches a deliberately wrong variant.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ai_roadmap.checks import CheckRecord
from ai_roadmap.classic import kernels as ker

pytestmark = pytest.mark.reference


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


@pytest.fixture(scope="module")
def data() -> ker.KernelData:
    return ker.make_data(rng(), n_train=120, n_test=60, noise_sd=0.1)


# ---------------------------------------------------------------- polynomial kernel


def test_polynomial_kernel_matches_sklearn() -> None:
    from sklearn.metrics.pairwise import polynomial_kernel

    x, y = rng(1).standard_normal((15, 4)), rng(2).standard_normal((9, 4))
    np.testing.assert_allclose(
        ker.polynomial_kernel(x, y, 3, 0.7),
        polynomial_kernel(x, y, degree=3, gamma=1.0, coef0=0.7),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize(
    ("dim", "degree", "coef0"), [(1, 1, 0.0), (2, 2, 1.0), (4, 3, 0.5), (3, 5, 2.0)]
)
def test_feature_map_reproduces_the_kernel(dim: int, degree: int, coef0: float) -> None:
    rec = ker.check_polynomial_map(rng(), 25, dim, degree, coef0)
    assert rec.passed, rec
    phi = ker.polynomial_feature_map(rng().standard_normal((3, dim)), degree, coef0)
    assert phi.shape[1] == math.comb(dim + degree, degree)


def test_degree_two_map_is_the_textbook_one() -> None:
    """(xᵀy + c)² in 2-D: φ = (c, √(2c)x₁, √(2c)x₂, x₁², √2 x₁x₂, x₂²) up to order."""
    x = np.array([[1.5, -2.0]])
    c = 3.0
    expected = [c, math.sqrt(2 * c) * 1.5, math.sqrt(2 * c) * -2.0, 2.25, math.sqrt(2) * -3.0, 4.0]
    np.testing.assert_allclose(
        np.sort(ker.polynomial_feature_map(x, 2, c)[0]), np.sort(expected), rtol=1e-14
    )


def test_feature_map_without_multinomial_weights_is_detected() -> None:
    def unweighted(x, degree, coef0):  # plain monomials of z = (√c, x)
        z = np.hstack([np.full((len(x), 1), math.sqrt(coef0)), x])
        combos = itertools.combinations_with_replacement(range(z.shape[1]), degree)
        return np.stack([np.prod(z[:, list(c)], axis=1) for c in combos], axis=1)

    assert_detected(ker.check_polynomial_map(rng(), 25, 3, 3, 1.0, feature_map=unweighted))


def test_feature_map_without_the_constant_is_detected() -> None:
    def homogeneous(x, degree, coef0):  # the map of (xᵀy)^d, c forgotten
        return ker.polynomial_feature_map(x, degree, 0.0)

    assert_detected(ker.check_polynomial_map(rng(), 25, 3, 3, 1.0, feature_map=homogeneous))


# ---------------------------------------------------------------- RBF kernel ridge


def test_rbf_kernel_matches_sklearn() -> None:
    from sklearn.metrics.pairwise import rbf_kernel

    x, y = rng(1).standard_normal((15, 3)), rng(2).standard_normal((9, 3))
    np.testing.assert_allclose(
        ker.rbf_kernel(x, y, 0.4), rbf_kernel(x, y, gamma=0.4), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(np.diag(ker.rbf_kernel(x, x, 0.4)), 1.0, rtol=0, atol=1e-14)


@pytest.mark.parametrize(("gamma", "alpha"), [(1.0, 0.1), (5.0, 1e-3), (0.2, 2.0)])
def test_kernel_ridge_matches_sklearn(data: ker.KernelData, gamma: float, alpha: float) -> None:
    from sklearn.kernel_ridge import KernelRidge

    ref = KernelRidge(alpha=alpha, kernel="rbf", gamma=gamma).fit(data.x, data.y)
    np.testing.assert_allclose(
        ker.kernel_ridge_predict(data.x, data.y, data.x_test, gamma, alpha),
        ref.predict(data.x_test),
        rtol=0,
        atol=1e-8,
    )
    assert ker.check_kernel_ridge_sklearn(data, gamma, alpha).passed


def test_kernel_ridge_with_the_other_gamma_convention_is_detected(data: ker.KernelData) -> None:
    def half_over_gamma(x, y, x_new, gamma, alpha):  # exp(−||x − y||² / 2γ)
        return ker.kernel_ridge_predict(x, y, x_new, 1.0 / (2.0 * gamma), alpha)

    assert_detected(ker.check_kernel_ridge_sklearn(data, 1.0, 0.1, predict=half_over_gamma))


def test_kernel_ridge_without_the_penalty_is_detected(data: ker.KernelData) -> None:
    def no_ridge(x, y, x_new, gamma, alpha):  # interpolates the noise (K⁻¹ via lstsq)
        dual = np.linalg.lstsq(ker.rbf_kernel(x, x, gamma), y, rcond=None)[0]
        return ker.rbf_kernel(x_new, x, gamma) @ dual

    assert_detected(ker.check_kernel_ridge_sklearn(data, 1.0, 0.1, predict=no_ridge))


# ---------------------------------------------------------------- random Fourier features


def test_fourier_gram_approaches_the_rbf_kernel() -> None:
    """max |ZZᵀ − K| is a Monte Carlo error: bounded by ~5 sd of one entry, sd ≤ 1/√D."""
    x = rng(1).uniform(-1, 1, (20, 2))
    exact = ker.rbf_kernel(x, x, 1.5)
    for count in (100, 10_000, 200_000):
        w, b = ker.draw_fourier_features(rng(2), 2, count, 1.5)
        z = ker.fourier_features(x, w, b)
        assert np.max(np.abs(z @ z.T - exact)) < 5.0 / math.sqrt(count)


def test_fourier_ridge_primal_equals_dual(data: ker.KernelData) -> None:
    w, b = ker.draw_fourier_features(rng(3), 2, 50, 1.0)
    z, z_test = ker.fourier_features(data.x, w, b), ker.fourier_features(data.x_test, w, b)
    primal = z_test @ np.linalg.solve(z.T @ z + 0.1 * np.eye(50), z.T @ data.y)
    np.testing.assert_allclose(
        ker.fourier_ridge_predict(data.x, data.y, data.x_test, w, b, 0.1), primal, atol=1e-10
    )


def test_fourier_ridge_equals_sklearn_ridge_on_the_features(data: ker.KernelData) -> None:
    from sklearn.linear_model import Ridge

    w, b = ker.draw_fourier_features(rng(4), 2, 300, 1.0)
    ref = Ridge(alpha=0.1, fit_intercept=False).fit(ker.fourier_features(data.x, w, b), data.y)
    np.testing.assert_allclose(
        ker.fourier_ridge_predict(data.x, data.y, data.x_test, w, b, 0.1),
        ref.predict(ker.fourier_features(data.x_test, w, b)),
        atol=1e-9,
    )


COUNTS = (10, 40, 160, 640, 2560)


def test_fourier_convergence_passes(data: ker.KernelData) -> None:
    curve = ker.fourier_curve(data, COUNTS, 4, rng(5), 1.0, 0.1)
    rec = ker.check_fourier_convergence(curve)
    assert rec.passed, rec
    assert curve.errors[-1] < 0.25 * curve.errors[0]


@pytest.mark.parametrize(
    "sampler",
    [
        # ω ~ N(0, γI): the spectrum of exp(−γ||δ||²/2), i.e. the wrong kernel width
        lambda g, dim, count, gamma: (
            g.normal(0.0, math.sqrt(gamma), (dim, count)),
            g.uniform(0, 2 * np.pi, count),
        ),
        # no random phase: E[2 cos(ωᵀx) cos(ωᵀy)] = k(x − y) + E cos ωᵀ(x + y) ≠ k
        lambda g, dim, count, gamma: (
            g.normal(0.0, math.sqrt(2 * gamma), (dim, count)),
            np.zeros(count),
        ),
    ],
    ids=["wrong_frequency_scale", "no_phase"],
)
def test_fourier_features_for_the_wrong_kernel_are_detected(data: ker.KernelData, sampler) -> None:
    curve = ker.fourier_curve(data, COUNTS, 4, rng(5), 1.0, 0.1, sampler=sampler)
    assert_detected(ker.check_fourier_convergence(curve))
