"""The Fréchet distance against a direct scipy.linalg.sqrtm computation, and its known cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from ai_roadmap.multimodal.diffusion.frechet import frechet_between, frechet_distance, gaussian_fit


def direct(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ_A − μ_B‖² + Tr(Σ_A + Σ_B − 2 sqrtm(Σ_A Σ_B)), as FID code writes it."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


@pytest.mark.reference
@pytest.mark.parametrize(("n_a", "n_b", "dim"), [(200, 150, 8), (64, 120, 16), (40, 40, 5)])
def test_matches_scipy_sqrtm(n_a: int, n_b: int, dim: int) -> None:
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(n_a, dim)) @ rng.normal(size=(dim, dim))
    b = rng.normal(0.5, 1.0, size=(n_b, dim)) @ rng.normal(size=(dim, dim))
    assert frechet_between(a, b) == pytest.approx(direct(a, b), rel=1e-7)


def test_known_cases() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4))
    assert frechet_between(x, x) == pytest.approx(0.0, abs=1e-9)
    shift = np.array([1.0, -2.0, 0.0, 0.5])  # same covariance: only ‖Δμ‖² remains
    assert frechet_between(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-9)
    # 1-D Gaussians: d² = (μ_a − μ_b)² + (σ_a − σ_b)²
    one = frechet_distance(np.array([0.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]]))
    assert one == pytest.approx(9.0 + 1.0)


def test_gaussian_fit_needs_two_rows() -> None:
    with pytest.raises(ValueError, match="at least two"):
        gaussian_fit(np.zeros((1, 3)))
