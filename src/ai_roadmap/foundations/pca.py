"""Principal component analysis from scratch in NumPy, with scikit-learn's interface.

Let X be (n, d), μ its column mean and X_c = X − μ. The thin SVD

    X_c = U S Vᵀ,      U (n, r), S = diag(s₁ ≥ … ≥ s_r ≥ 0), V (d, r), r = min(n, d),

gives the sample covariance without forming it:

    C = X_cᵀ X_c / (n − 1) = V S² Vᵀ / (n − 1),

so the principal axes are the columns of V (rows of ``components_``) and the
variance along axis j is λ_j = s_j² / (n − 1) (``explained_variance_``); its
share of the total is λ_j / Σ_i λ_i (``explained_variance_ratio_``, the total
over *all* r directions). Keeping k axes V_k (d, k):

    projection      Z = (X − μ) V_k = U_k S_k                  (n, k)
    reconstruction  X̂ = Z V_kᵀ + μ                             (n, d)
    error           ||X_c − X̂_c||_F² = Σ_{j>k} s_j² = (n − 1) Σ_{j>k} λ_j,

i.e. the squared reconstruction error is the sum of the dropped eigenvalues
(Eckart–Young: no rank-k matrix does better). Whitening divides Z by √λ_j so
each kept coordinate has unit variance; ``inverse_transform`` multiplies it back.

Two solvers of the same problem: ``"svd"`` (above, numerically the better one)
and ``"eigh"``, the eigendecomposition of C with ``np.linalg.eigh``. Forming C
squares the condition number, so the eigh path loses accuracy on directions with
tiny variance; on the leading ones the two agree to ~1e-14 (tests/foundations/test_pca.py).

Sign convention: an eigenvector is defined up to ±1, so each component is
flipped to make its largest-|value| entry positive — the rule of scikit-learn's
``svd_flip(u_based_decision=False)`` used by ``PCA(svd_solver="full")``.

``reconstruct`` and ``reconstruction_mse`` measure what keeping k axes loses;
``sklearn_component_diff`` is the distance to scikit-learn's axes, matched up to sign.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SOLVERS = ("svd", "eigh")


class NotFittedError(ValueError, AttributeError):
    """Raised by ``transform`` before ``fit`` (same bases as scikit-learn's)."""


def flip_signs(components: np.ndarray) -> np.ndarray:
    """Flip each row so that its largest-|value| entry is positive."""
    rows = np.arange(components.shape[0])
    pivots = np.argmax(np.abs(components), axis=1)  # first maximum on ties, like sklearn
    signs = np.where(components[rows, pivots] < 0, -1.0, 1.0)
    return components * signs[:, None]


def components_for_fraction(ratio: np.ndarray, fraction: float) -> int:
    """Smallest k whose cumulative explained-variance ratio strictly exceeds ``fraction``."""
    k = int(np.searchsorted(np.cumsum(ratio), fraction, side="right")) + 1
    return min(k, len(ratio))


class PCA:
    """PCA with scikit-learn's estimator interface (``clone``-able), NumPy only.

    n_components: None keeps min(n, d); an int k keeps k; a float in (0, 1) keeps the
        fewest components whose explained-variance ratio sums to more than it.
    solver: ``"svd"`` of the centred data or ``"eigh"`` of the covariance.
    whiten: scale the projections to unit variance.
    """

    def __init__(
        self, n_components: int | float | None = None, solver: str = "svd", whiten: bool = False
    ) -> None:
        self.n_components = n_components
        self.solver = solver
        self.whiten = whiten

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"n_components": self.n_components, "solver": self.solver, "whiten": self.whiten}

    def set_params(self, **params: Any) -> PCA:
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for PCA; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"PCA({args})"

    def fit(self, X: Any, y: Any = None) -> PCA:
        """Centre X, decompose, flip signs, keep ``n_components_`` axes."""
        X = _as_matrix(X)
        n, d = X.shape
        if n < 2:
            raise ValueError(f"PCA needs at least 2 samples, got {n}")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        self.mean_ = X.mean(axis=0)  # (d,)
        centred = X - self.mean_
        rank = min(n, d)
        if self.solver == "svd":
            _, singular, axes = np.linalg.svd(centred, full_matrices=False)  # axes (r, d)
            variance = singular**2 / (n - 1)
        else:
            covariance = centred.T @ centred / (n - 1)  # (d, d)
            eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending order
            variance = np.clip(eigenvalues[::-1][:rank], 0.0, None)  # rounding can go below 0
            axes = eigenvectors[:, ::-1].T[:rank]  # (d, d) -> (r, d), decreasing variance
            singular = np.sqrt(variance * (n - 1))
        axes = flip_signs(axes)
        ratio = variance / variance.sum()
        k = self._kept(ratio, rank)
        self.n_components_ = k
        self.n_samples_, self.n_features_in_ = n, d
        self.components_ = axes[:k].copy()  # (k, d)
        self.explained_variance_ = variance[:k].copy()
        self.explained_variance_ratio_ = ratio[:k].copy()
        self.singular_values_ = singular[:k].copy()
        return self

    def _kept(self, ratio: np.ndarray, rank: int) -> int:
        wanted = self.n_components
        if wanted is None:
            return rank
        if isinstance(wanted, float) and 0.0 < wanted < 1.0:
            return components_for_fraction(ratio, wanted)
        is_int = isinstance(wanted, int | np.integer) and not isinstance(wanted, bool)
        if is_int and 1 <= wanted <= rank:
            return int(wanted)
        raise ValueError(
            f"n_components={wanted!r}: use None, an int in [1, {rank}] or a float in (0, 1)"
        )

    def transform(self, X: Any) -> np.ndarray:
        """Z = (X − μ) V_k, divided by √λ when whitening; shape (n, k)."""
        self._check_fitted()
        Z = (_as_matrix(X) - self.mean_) @ self.components_.T  # (n, d) @ (d, k) -> (n, k)
        if self.whiten:
            # zero-variance axes would divide by 0; sklearn clips the scale at eps the same way
            scale = np.maximum(np.sqrt(self.explained_variance_), np.finfo(np.float64).eps)
            Z = Z / scale
        return Z

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: Any) -> np.ndarray:
        """X̂ = Z V_kᵀ + μ (undoing the whitening first); shape (n, d)."""
        self._check_fitted()
        axes = self.components_
        if self.whiten:
            axes = np.sqrt(self.explained_variance_)[:, None] * axes
        return _as_matrix(Z) @ axes + self.mean_  # (n, k) @ (k, d) -> (n, d)

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise NotFittedError("this PCA is not fitted yet; call fit(X) first")


def _as_matrix(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D array (n_samples, n_features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity")
    return X


def reconstruct(pca: PCA, X: np.ndarray, k: int) -> np.ndarray:
    """X rebuilt from its projection on the first k components of ``pca``, shape (n, d)."""
    axes = pca.components_[:k]  # (k, d)
    return (X - pca.mean_) @ axes.T @ axes + pca.mean_  # (n, d) -> (n, k) -> (n, d)


def reconstruction_mse(pca: PCA, X: np.ndarray, k: int) -> float:
    """Mean squared error per entry: (n − 1)/(n d) · Σ_{j>k} λ_j when X is the fitted data."""
    return float(np.mean((X - reconstruct(pca, X, k)) ** 2))


def sklearn_component_diff(pca: PCA, X: np.ndarray, k: int) -> float:
    """max |ours − sklearn| over the first k components, each matched up to sign."""
    from sklearn.decomposition import PCA as SkPCA

    reference = SkPCA(n_components=k, svd_solver="full").fit(X).components_  # (k, d)
    ours = pca.components_[:k]
    signs = np.where(np.sum(ours * reference, axis=1) < 0, -1.0, 1.0)
    return float(np.max(np.abs(ours * signs[:, None] - reference)))
