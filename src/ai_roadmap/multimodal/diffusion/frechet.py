"""The Fréchet distance between two Gaussians fitted to features (the "FID" formula).

Heusel et al. 2017: for feature sets A and B with means μ_A, μ_B and covariances Σ_A, Σ_B,

    d² = ‖μ_A − μ_B‖² + Tr(Σ_A + Σ_B − 2 (Σ_A Σ_B)^{1/2}).

FID proper uses Inception-v3 pool features of 50 000 images; here the features come from a
network trained in this project, on a few dozen images, so the numbers compare runs of
this milestone with each other, never with published FIDs. The trace of the matrix square
root is computed without forming it: Σ_A Σ_B is similar to the symmetric PSD matrix
M = Σ_A^{1/2} Σ_B Σ_A^{1/2}, so Tr (Σ_A Σ_B)^{1/2} = Σ_i √λ_i(M), with two symmetric
eigendecompositions (stable, and real by construction, where ``scipy.linalg.sqrtm`` of
the non-symmetric product can return small imaginary parts).
"""

from __future__ import annotations

import numpy as np


def gaussian_fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D)) of features (N, D), float64, unbiased (N − 1)."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError("need at least two feature vectors (N, D)")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Σ^{1/2} of a symmetric PSD matrix (negative round-off eigenvalues set to 0)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """d² = ‖μ_A − μ_B‖² + Tr Σ_A + Tr Σ_B − 2 Σ_i √λ_i(Σ_A^{1/2} Σ_B Σ_A^{1/2})."""
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    eigen = np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0.0, None)
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.sqrt(eigen).sum()
    return float(max(value, 0.0))


def frechet_between(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to feature sets a (N, D) and b (M, D)."""
    return frechet_distance(*gaussian_fit(a), *gaussian_fit(b))
