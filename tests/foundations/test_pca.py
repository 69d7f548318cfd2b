"""Our NumPy PCA against ``sklearn.decomposition.PCA(svd_solver="full")``, float64.

Both decompose the same centred matrix, so the leading components agree to
rounding (~1e-14); the bar is 1e-8. Signs are compared up to ±1 per component,
although both follow the same "largest |entry| positive" rule.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.decomposition import PCA as SkPCA

from ai_roadmap.foundations.pca import PCA, flip_signs

pytestmark = pytest.mark.reference

ATOL = 1e-8


def correlated(n: int, d: int, seed: int) -> np.ndarray:
    """Data with distinct variances along a random rotation, and a non-zero mean."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))  # (d, d)
    return rng.normal(size=(n, d)) * np.geomspace(5.0, 0.05, d) @ rotation + rng.normal(size=d)


def digit_like(n: int, seed: int) -> np.ndarray:
    """MNIST-shaped (n, 784) pixels in [0, 1]: low-rank strokes plus noise, empty borders."""
    rng = np.random.default_rng(seed)
    basis = rng.random((20, 784)) * (rng.random(784) > 0.2)  # ~20 % of pixels always 0
    pixels = rng.random((n, 20)) @ basis / 10 + 0.01 * rng.random((n, 784)) * (basis.sum(0) > 0)
    return np.clip(pixels, 0.0, 1.0)


def up_to_sign(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Flip each row of ``ours`` to point the same way as the reference row."""
    signs = np.where(np.sum(ours * reference, axis=1) < 0, -1.0, 1.0)
    return ours * signs[:, None]


DATA = {
    "random 200x12": lambda: correlated(200, 12, seed=0),
    "wide 30x50": lambda: correlated(30, 50, seed=1),
    "digit-like 500x784": lambda: digit_like(500, seed=2),
}


@pytest.mark.parametrize("name", DATA)
@pytest.mark.parametrize("solver", ["svd", "eigh"])
def test_matches_sklearn(name: str, solver: str) -> None:
    X = DATA[name]()
    k = 10
    ours = PCA(n_components=k, solver=solver).fit(X)
    ref = SkPCA(n_components=k, svd_solver="full").fit(X)
    assert ours.components_.shape == ref.components_.shape == (k, X.shape[1])
    assert_allclose(up_to_sign(ours.components_, ref.components_), ref.components_, atol=ATOL)
    assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10, atol=ATOL)
    assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, atol=ATOL)
    assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10, atol=ATOL)
    assert_allclose(ours.mean_, ref.mean_, atol=1e-12)
    assert ours.n_components_ == ref.n_components_ == k


@pytest.mark.parametrize("whiten", [False, True])
def test_transform_and_inverse_match_sklearn(whiten: bool) -> None:
    X, X_new = correlated(200, 12, seed=3), correlated(40, 12, seed=4)
    ours = PCA(n_components=5, whiten=whiten).fit(X)
    ref = SkPCA(n_components=5, svd_solver="full", whiten=whiten).fit(X)
    signs = np.where(np.sum(ours.components_ * ref.components_, axis=1) < 0, -1.0, 1.0)
    Z = ours.transform(X_new)
    assert_allclose(Z * signs, ref.transform(X_new), atol=ATOL)
    assert_allclose(ours.fit_transform(X) * signs, ref.transform(X), atol=ATOL)
    assert_allclose(ours.inverse_transform(Z), ref.inverse_transform(Z * signs), atol=ATOL)
    if whiten:  # unit variance along each kept axis on the training data
        assert_allclose(ours.transform(X).var(axis=0, ddof=1), np.ones(5), rtol=1e-10)


def test_full_rank_round_trip_is_exact() -> None:
    X = correlated(100, 8, seed=5)
    pca = PCA().fit(X)
    assert pca.n_components_ == 8
    assert_allclose(pca.inverse_transform(pca.transform(X)), X, atol=1e-10)


def test_reconstruction_error_is_sum_of_dropped_eigenvalues() -> None:
    X = correlated(150, 10, seed=6)
    n = len(X)
    variance = SkPCA(svd_solver="full").fit(X).explained_variance_  # all 10 λ_j
    for k in (1, 4, 9):
        pca = PCA(n_components=k).fit(X)
        error = np.sum((X - pca.inverse_transform(pca.transform(X))) ** 2)
        assert_allclose(error, (n - 1) * variance[k:].sum(), rtol=1e-10)


@pytest.mark.parametrize("name", DATA)
def test_svd_and_eigh_solvers_agree(name: str) -> None:
    X = DATA[name]()
    by_svd = PCA(n_components=10, solver="svd").fit(X)
    by_eigh = PCA(n_components=10, solver="eigh").fit(X)
    assert_allclose(by_eigh.components_, by_svd.components_, atol=ATOL)
    assert_allclose(by_eigh.explained_variance_, by_svd.explained_variance_, rtol=1e-10)


@pytest.mark.parametrize("fraction", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_fraction_picks_the_same_k_as_sklearn(fraction: float) -> None:
    X = digit_like(300, seed=7)
    ours = PCA(n_components=fraction).fit(X)
    ref = SkPCA(n_components=fraction, svd_solver="full").fit(X)
    assert ours.n_components_ == ref.n_components_
    assert ours.components_.shape == ref.components_.shape


def test_fraction_must_be_strictly_exceeded_like_sklearn() -> None:
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])  # ratios exactly [0.5, 0.5]
    ref = SkPCA(n_components=0.5, svd_solver="full").fit(X)
    assert PCA(n_components=0.5).fit(X).n_components_ == ref.n_components_ == 2


def test_signs_follow_the_largest_entry_rule() -> None:
    X = correlated(200, 12, seed=8)
    components = PCA().fit(X).components_
    pivots = np.argmax(np.abs(components), axis=1)
    assert np.all(components[np.arange(12), pivots] > 0)
    flipped = flip_signs(-components)
    assert_allclose(flipped, components)


def test_sklearn_clone_and_params() -> None:
    pca = PCA(n_components=3, solver="eigh", whiten=True)
    copy = clone(pca)
    assert copy is not pca
    assert copy.get_params() == {"n_components": 3, "solver": "eigh", "whiten": True}
    assert not hasattr(copy, "components_")
    assert pca.set_params(n_components=0.9) is pca and pca.n_components == 0.9
    with pytest.raises(ValueError, match="invalid parameter"):
        pca.set_params(alpha=1.0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": 13}, "n_components"),
        ({"n_components": 1.5}, "n_components"),
        ({"solver": "qr"}, "solver"),
    ],
)
def test_bad_parameters_are_rejected_at_fit(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PCA(**params).fit(correlated(50, 12, seed=9))


def test_transform_before_fit_raises() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        PCA().transform(np.zeros((2, 3)))
