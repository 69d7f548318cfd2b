"""Ensembles from scratch: bagging, gradient boosting (squared loss) and stacking.

The weak learners are scikit-learn's ``DecisionTreeRegressor`` (imported inside the
functions); the ensemble logic is ours.

- Bagging (Breiman, 1996): fit M trees on bootstrap resamples (n draws with
  replacement) and average, f̂ = (1/M) Σ_m h_m. Averaging M identically distributed
  fits with pairwise correlation ρ leaves variance ρσ² + (1 − ρ)σ²/M: the variance
  falls with M while the bias stays that of one deep tree.
- Gradient boosting for L(y, F) = ½(y − F)² (Friedman, 2001): F_0 = ȳ (the constant
  minimising L), then for m = 1 … M fit a depth-limited tree h_m to the negative
  gradient r = −∂L/∂F = y − F_{m−1} (the residuals) and step F_m = F_{m−1} + ν h_m with
  shrinkage ν. For squared loss the leaf values (means of r) are already the line
  search's optimum, so no leaf update is needed.
- Stacking (Wolpert, 1992): the meta-learner must be trained on predictions the base
  models made for points they did not see, else it trusts the most overfitted
  model. Split into K folds, predict each fold with base models fitted on the
  other K − 1 (out-of-fold predictions Z, (n, J)), fit a linear meta-learner
  y ≈ β₀ + Zβ by least squares, and refit the base models on all the data for use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_roadmap.checks import CheckRecord, record


@dataclass(frozen=True)
class EnsembleData:
    """Friedman #1: x ~ U[0, 1]¹⁰, y = 10 sin(πx₁x₂) + 20(x₃ − ½)² + 10x₄ + 5x₅ + ε."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def friedman1(rng: np.random.Generator, n: int, noise_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """n draws of Friedman's (1991) first benchmark; x₆ … x₁₀ are pure noise features."""
    x = rng.uniform(0.0, 1.0, (n, 10))
    signal = 10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2
    return x, signal + 10 * x[:, 3] + 5 * x[:, 4] + noise_sd * rng.standard_normal(n)


def make_data(rng: np.random.Generator, n_train: int, n_test: int, noise_sd: float) -> EnsembleData:
    """Independent train and test draws of Friedman #1."""
    return EnsembleData(*friedman1(rng, n_train, noise_sd), *friedman1(rng, n_test, noise_sd))


def mse(y: np.ndarray, prediction: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((y - prediction) ** 2))


# ---------------------------------------------------------------- bagging


def bagging_fit(x: np.ndarray, y: np.ndarray, n_estimators: int, rng: np.random.Generator) -> list:
    """M fully grown trees, each on n rows drawn with replacement."""
    from sklearn.tree import DecisionTreeRegressor

    trees = []
    for _ in range(n_estimators):
        rows = rng.integers(0, len(y), len(y))  # a bootstrap resample
        tree = DecisionTreeRegressor(random_state=int(rng.integers(2**31)))
        trees.append(tree.fit(x[rows], y[rows]))
    return trees


def bagging_staged_predict(trees: list, x: np.ndarray) -> np.ndarray:
    """Averages of the first 1, 2, …, M trees: (M, n)."""
    votes = np.stack([tree.predict(x) for tree in trees])  # (M, n)
    return np.cumsum(votes, axis=0) / np.arange(1, len(trees) + 1)[:, None]


# ---------------------------------------------------------------- gradient boosting


@dataclass(frozen=True)
class BoostedTrees:
    """F(x) = init + ν Σ_m h_m(x)."""

    init: float
    learning_rate: float
    trees: tuple


def boosting_fit(
    x: np.ndarray,
    y: np.ndarray,
    n_estimators: int,
    learning_rate: float,
    max_depth: int,
    random_state: int,
    criterion: str = "squared_error",
) -> BoostedTrees:
    """Gradient boosting for ½(y − F)²: each tree fits the residuals y − F, then F += ν·tree.

    As scikit-learn does, one ``RandomState(random_state)`` feeds every tree (it only
    breaks ties between equally good splits), so the same seed gives the same trees.
    """
    from sklearn.tree import DecisionTreeRegressor

    shared = np.random.RandomState(random_state)
    init = float(np.mean(y))
    fitted = np.full(len(y), init)
    trees = []
    for _ in range(n_estimators):
        residual = y - fitted  # the negative gradient of ½(y − F)² at F
        tree = DecisionTreeRegressor(
            criterion=criterion, max_depth=max_depth, random_state=shared
        ).fit(x, residual)
        fitted += learning_rate * tree.predict(x)
        trees.append(tree)
    return BoostedTrees(init, learning_rate, tuple(trees))


def boosting_staged_predict(model: BoostedTrees, x: np.ndarray) -> np.ndarray:
    """F_1(x), …, F_M(x): (M, n)."""
    steps = np.stack([tree.predict(x) for tree in model.trees])  # (M, n)
    return model.init + model.learning_rate * np.cumsum(steps, axis=0)


def sklearn_tree_criterion() -> str:
    """The criterion of ``GradientBoostingRegressor``'s trees in the installed scikit-learn.

    Before 1.9 the default was ``"friedman_mse"``; from 1.9 the parameter is
    deprecated and the trees always use ``"squared_error"``.
    """
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    return "squared_error" if (major, minor) >= (1, 9) else "friedman_mse"


# ---------------------------------------------------------------- stacking


def kfold_test_folds(n: int, n_folds: int) -> list[np.ndarray]:
    """Contiguous folds, the first n mod K one longer: ``KFold(n_folds)`` without shuffling."""
    sizes = np.full(n_folds, n // n_folds) + (np.arange(n_folds) < n % n_folds)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [np.arange(bounds[k], bounds[k + 1]) for k in range(n_folds)]


def out_of_fold_predictions(
    estimators: list[tuple[str, Any]], x: np.ndarray, y: np.ndarray, n_folds: int
) -> np.ndarray:
    """Z[i, j] = base model j, fitted without i's fold, predicting i: (n, J)."""
    from sklearn.base import clone

    z = np.empty((len(y), len(estimators)))
    for test in kfold_test_folds(len(y), n_folds):
        train = np.setdiff1d(np.arange(len(y)), test)
        for j, (_, estimator) in enumerate(estimators):
            z[test, j] = clone(estimator).fit(x[train], y[train]).predict(x[test])
    return z


def least_squares(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """(β, β₀) = argmin ||y − β₀ − Zβ||², solved by ``lstsq`` on [1, Z]."""
    design = np.hstack([np.ones((len(z), 1)), z])  # (n, J) -> (n, J + 1)
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    return solution[1:], float(solution[0])


@dataclass(frozen=True)
class StackedModel:
    """Base models refitted on all the data and the meta-learner's weights."""

    base: tuple
    meta_coef: np.ndarray
    meta_intercept: float


Estimators = list[tuple[str, Any]]


def stacking_fit(
    estimators: Estimators,
    x: np.ndarray,
    y: np.ndarray,
    n_folds: int,
    meta_features: Callable[[Estimators, np.ndarray, np.ndarray, int], np.ndarray] = (
        out_of_fold_predictions
    ),
) -> StackedModel:
    """Meta-learner on out-of-fold predictions; base models refitted on everything."""
    from sklearn.base import clone

    coef, intercept = least_squares(meta_features(estimators, x, y, n_folds), y)
    base = tuple(clone(estimator).fit(x, y) for _, estimator in estimators)
    return StackedModel(base, coef, intercept)


def stacking_predict(model: StackedModel, x: np.ndarray) -> np.ndarray:
    """β₀ + Σ_j β_j h_j(x)."""
    z = np.column_stack([estimator.predict(x) for estimator in model.base])  # (n, J)
    return model.meta_intercept + z @ model.meta_coef


def base_estimators() -> Estimators:
    """Three different learners, all deterministic: a linear, a tree and a local model."""
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.tree import DecisionTreeRegressor

    return [
        ("ridge", Ridge(alpha=1.0)),
        ("tree", DecisionTreeRegressor(max_depth=4, random_state=0)),
        ("knn", KNeighborsRegressor(n_neighbors=10)),
    ]


# ---------------------------------------------------------------- checks against scikit-learn


def check_boosting_sklearn(
    data: EnsembleData,
    n_estimators: int,
    learning_rate: float,
    max_depth: int,
    random_state: int = 0,
    fit: Callable[..., BoostedTrees] = boosting_fit,
    tolerance: float = 1e-8,
) -> CheckRecord:
    """max over test points and stages of |ours − ``GradientBoostingRegressor``|.

    Same loss, init (the mean), ν, depth, n_estimators, subsample = 1, tree criterion
    and RandomState: the trees are built identically, so only float sums differ.
    """
    from sklearn.ensemble import GradientBoostingRegressor

    criterion = sklearn_tree_criterion()
    ours = fit(data.x, data.y, n_estimators, learning_rate, max_depth, random_state, criterion)
    ref = GradientBoostingRegressor(
        loss="squared_error",
        learning_rate=learning_rate,
        n_estimators=n_estimators,
        max_depth=max_depth,
        subsample=1.0,
        random_state=random_state,
    ).fit(data.x, data.y)
    staged_ref = np.stack(list(ref.staged_predict(data.x_test)))  # (M, n_test)
    error = float(np.max(np.abs(boosting_staged_predict(ours, data.x_test) - staged_ref)))
    detail = f"M = {n_estimators}, ν = {learning_rate:g}, depth {max_depth}, {criterion} trees"
    return record("boosting_sklearn", error, tolerance, detail)


def check_bagging_sklearn(
    data: EnsembleData,
    n_estimators: int,
    repeats: int,
    rng: np.random.Generator,
    bag: Callable[..., list] = bagging_fit,
    standard_errors: float = 4.0,
) -> CheckRecord:
    """|mean test MSE (ours) − mean test MSE (``BaggingRegressor``)| against 4 SE.

    The two draw different bootstrap indices, so they agree only in distribution:
    each is refitted ``repeats`` times on the same data with fresh seeds, and the
    tolerance is 4 standard errors of the difference of the two means.
    """
    from sklearn.ensemble import BaggingRegressor
    from sklearn.tree import DecisionTreeRegressor

    ours, theirs = np.empty(repeats), np.empty(repeats)
    for r in range(repeats):
        trees = bag(data.x, data.y, n_estimators, rng)
        ours[r] = mse(data.y_test, bagging_staged_predict(trees, data.x_test)[-1])
        ref = BaggingRegressor(
            DecisionTreeRegressor(),
            n_estimators=n_estimators,
            random_state=int(rng.integers(2**31)),
        ).fit(data.x, data.y)
        theirs[r] = mse(data.y_test, ref.predict(data.x_test))
    se = math.sqrt((ours.var(ddof=1) + theirs.var(ddof=1)) / repeats)
    detail = (
        f"test MSE {ours.mean():.4g} ± {ours.std(ddof=1):.2g} vs sklearn "
        f"{theirs.mean():.4g} ± {theirs.std(ddof=1):.2g} over {repeats} fits of M = {n_estimators}"
    )
    return record("bagging_sklearn", abs(ours.mean() - theirs.mean()), standard_errors * se, detail)


def check_stacking_sklearn(
    data: EnsembleData,
    n_folds: int,
    fit: Callable[..., StackedModel] = stacking_fit,
    tolerance: float = 1e-8,
) -> CheckRecord:
    """max |ours − ``StackingRegressor(cv=KFold(K), final_estimator=LinearRegression())``|.

    Same base models, same unshuffled folds, same least-squares meta-learner: the
    meta-features are identical, so only the two least-squares solvers differ.
    """
    from sklearn.ensemble import StackingRegressor
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold

    ours = stacking_predict(fit(base_estimators(), data.x, data.y, n_folds), data.x_test)
    ref = StackingRegressor(
        base_estimators(), final_estimator=LinearRegression(), cv=KFold(n_folds)
    ).fit(data.x, data.y)
    error = float(np.max(np.abs(ours - ref.predict(data.x_test))))
    names = "+".join(name for name, _ in base_estimators())
    return record("stacking_sklearn", error, tolerance, f"{names}, K = {n_folds} folds")
