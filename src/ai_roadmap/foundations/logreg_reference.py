"""What the from-scratch logistic regression is measured on, and against.

The data are standardised ((x − mean) / std per column, population std like
``StandardScaler``): on raw features the breast-cancer columns' spreads differ by a
factor of 2·10⁵ and no single SGD step size suits every weight. scikit-learn is
fitted on the same standardised matrices, so the comparison is of solvers, not of
preprocessing.

The reference is scikit-learn's lbfgs on the same objective, set to converge as far
as it goes (tol 1e-10, 10 000 iterations); :func:`max_abs_diff` compares two fitted
models' weights and intercepts, multinomial intercepts after centring (they are
defined only up to a common shift). :func:`timed_fit` gives the median wall time
of repeated fits, single-threaded BLAS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

# ---------------------------------------------------------------- data (standardised)


def standardise(X: np.ndarray) -> np.ndarray:
    """(X − mean) / std per column (population std, like ``StandardScaler``)."""
    return (X - X.mean(axis=0)) / X.std(axis=0)


def breast_cancer_features() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled breast-cancer set: X (569, 30) standardised, y ∈ {0, 1}."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return standardise(X), y


def wine_features() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled wine set: X (178, 13) standardised, y ∈ {0, 1, 2}."""
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True)
    return standardise(X), y


TITANIC_FEATURES = ("Pclass", "Sex", "Age", "SibSp", "Parch", "Fare")


def titanic_features() -> tuple[np.ndarray, np.ndarray]:
    """Kaggle's 891 training passengers: X (891, 6) standardised, y = Survived.

    Columns ``TITANIC_FEATURES``: Sex is 1 for male, 0 for female; missing ages
    (177 of them) take the median age.
    """
    from ai_roadmap.datasets.titanic import load_titanic

    train = load_titanic().train
    frame = train[list(TITANIC_FEATURES)].copy()
    frame["Sex"] = (frame["Sex"] == "male").astype(float)
    frame["Age"] = frame["Age"].fillna(frame["Age"].median())
    return standardise(frame.to_numpy(dtype=np.float64)), train["Survived"].to_numpy()


# the binary sets, by the names a config uses for them
DATASETS = {"breast_cancer": breast_cancer_features, "titanic": titanic_features}
DATASET_LABELS = {
    "breast_cancer": "breast-cancer (scikit-learn)",
    "titanic": "titanic features (kaggle train 891)",
}


# ---------------------------------------------------------------- the reference


def sklearn_model(C: float = 1.0) -> Any:
    """scikit-learn's lbfgs on the same objective, set to converge as far as it goes."""
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    return SkLogisticRegression(C=C, tol=1e-10, max_iter=10_000, solver="lbfgs")


def sklearn_reference(X: np.ndarray, y: np.ndarray, C: float = 1.0) -> Any:
    """:func:`sklearn_model` fitted on (X, y)."""
    return sklearn_model(C).fit(X, y)


def max_abs_diff(model: Any, reference: Any) -> float:
    """max |Δ| over ``coef_`` and ``intercept_`` (multinomial intercepts centred first)."""
    ours, ref = np.ravel(model.intercept_), np.ravel(reference.intercept_)
    if ref.size > 1:  # defined up to a common shift: compare Σ_k b_k = 0 representatives
        ours, ref = ours - ours.mean(), ref - ref.mean()
    return float(max(np.max(np.abs(model.coef_ - reference.coef_)), np.max(np.abs(ours - ref))))


def timed_fit(
    make: Callable[[], Any], X: np.ndarray, y: np.ndarray, repeats: int
) -> tuple[Any, float]:
    """The last fitted model and the median wall time of ``repeats`` fits.

    BLAS runs single-threaded: these matrices are tiny, and on a shared machine
    extra threads only add noise to both sides of the ratio.
    """
    from threadpoolctl import threadpool_limits

    times, model = [], None
    with threadpool_limits(limits=1):
        for _ in range(repeats):
            started = time.perf_counter()
            model = make().fit(X, y)
            times.append(time.perf_counter() - started)
    return model, float(np.median(times))
