"""House prices: regularised linear models and LightGBM on the raw Kaggle columns, blended.

Every model is one estimator that takes the raw Kaggle columns and the price
in dollars::

    DropTrainingOutliers(                      # fit only: drop 2 known bad sales
        TransformedTargetRegressor(            # learns log1p(price), predicts dollars
            HouseFeatures -> encode -> model   # features learned in fit (house_features.py)
        ))

with ``encode`` = (``SkewedLog1p`` -> ``RobustScaler`` -> ``ClipToFitRange``) on
the numbers and a one-hot of the categories for the linear models and the SVR,
the raw numbers and the one-hot for LightGBM. The ensemble is a weighted
average of the members' log-price predictions (``VotingRegressor`` inside the
same wrapper), i.e. a weighted geometric mean of their prices.

Score: RMSLE = sqrt(mean((log1p(ŷ) − log1p(y))²)), Kaggle's metric, by K-fold
cross-validation (:func:`cross_validate`). Each fold fits every statistic —
imputation medians, skewed-column choice, scaling, one-hot levels — on its
training part only, and the validation part keeps all its houses, outliers
included. The blend's fold scores come from the members' out-of-fold
predictions: refitting the ``VotingRegressor`` on a fold would refit the same
members on the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor, make_column_selector
from sklearn.ensemble import VotingRegressor
from sklearn.linear_model import ElasticNet, Lasso, Ridge
from sklearn.model_selection import RepeatedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler
from sklearn.svm import SVR

from ai_roadmap.classic.house_features import (
    ClipToFitRange,
    DropTrainingOutliers,
    HouseFeatures,
    SkewedLog1p,
)

TARGET = "SalePrice"
# Models that see the scaled, clipped numbers (LightGBM sees them raw).
SCALED_KINDS = {"lasso": Lasso, "ridge": Ridge, "elasticnet": ElasticNet, "svr": SVR}
MODEL_KINDS = ("lgbm", *SCALED_KINDS)


@dataclass(frozen=True)
class FeatureOptions:
    """How the raw columns become features (the last two for the scaled models only)."""

    add_flags: bool = True  # 0/1 HasGarage, HasPool, Has2ndFloor, Remodelled, IsNew, …
    skew_threshold: float = 0.75  # log1p the numeric columns with |skewness| above this
    clip_to_fit_range: bool = True  # clip each numeric feature to its training range


@dataclass(frozen=True)
class OutlierRule:
    """Sales left out of every fit: GrLivArea above ``min_area`` sold below ``max_price``."""

    drop: bool = True
    min_area: float = 4000.0  # square feet
    max_price: float = 300000.0  # dollars


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def _encoder(linear: bool, skew_threshold: float, clip: bool) -> ColumnTransformer:
    steps = [("log", SkewedLog1p(skew_threshold)), ("scale", RobustScaler())]
    if clip:
        steps.append(("clip", ClipToFitRange()))
    numbers: Any = Pipeline(steps) if linear else "passthrough"
    return ColumnTransformer(
        [
            ("num", numbers, make_column_selector(dtype_include="number")),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                make_column_selector(dtype_exclude="number"),
            ),
        ]
    )


def build_regressor(spec: Mapping[str, Any], seed: int) -> Any:
    """A regressor from a config entry ``{kind: lasso | ridge | elasticnet | svr | lgbm, …}``."""
    params = {k: v for k, v in spec.items() if k != "kind"}
    kind = spec["kind"]
    if kind == "lgbm":
        from lightgbm import LGBMRegressor

        # one thread by default: on ~1 200 rows OpenMP's synchronisation per boosting round
        # outweighs the work (see `n_jobs` in conf/s2.house/config.yaml)
        return LGBMRegressor(**{"verbose": -1, "n_jobs": 1, "random_state": seed, **params})
    if kind not in SCALED_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; use lgbm or one of {list(SCALED_KINDS)}")
    cls = SCALED_KINDS[kind]
    if "random_state" in cls().get_params():
        params.setdefault("random_state", seed)
    return cls(**params)


def build_log_pipeline(spec: Mapping[str, Any], seed: int, features: FeatureOptions) -> Pipeline:
    """Raw columns -> log1p(price): features, encoding, regressor."""
    return Pipeline(
        [
            ("features", HouseFeatures(add_flags=features.add_flags)),
            (
                "encode",
                _encoder(
                    linear=spec["kind"] != "lgbm",
                    skew_threshold=features.skew_threshold,
                    clip=features.clip_to_fit_range,
                ),
            ),
            ("model", build_regressor(spec, seed)),
        ]
    )


def in_dollars(log_model: Any, outliers: OutlierRule) -> DropTrainingOutliers:
    """Wrap a log-price model: dollars in and out, outliers left out of fit."""
    target = TransformedTargetRegressor(
        regressor=log_model, func=np.log1p, inverse_func=np.expm1, check_inverse=False
    )
    return DropTrainingOutliers(
        target, enabled=outliers.drop, min_area=outliers.min_area, max_price=outliers.max_price
    )


def build_ensemble(
    members: Mapping[str, Pipeline], weights: Mapping[str, float]
) -> VotingRegressor:
    """Weighted average of the members' log-price predictions."""
    names = list(weights)
    return VotingRegressor(
        [(name, members[name]) for name in names], weights=[float(weights[n]) for n in names]
    )


def ensemble_weights(
    weights: Mapping[str, float], models: Mapping[str, object | None]
) -> dict[str, float]:
    """The ensemble's weights, checked: non-negative, not all 0, each naming a model.

    A model set to None (left out, e.g. by a scale preset) cannot be a member.
    """
    checked = {name: float(weight) for name, weight in weights.items()}
    names = [name for name, spec in models.items() if spec is not None]
    unknown = sorted(set(checked) - set(names))
    if unknown or not checked or min(checked.values()) < 0 or sum(checked.values()) <= 0:
        raise ValueError(
            f"ensemble.weights {checked} must be non-negative, not all 0, and name models "
            f"among {names} (unknown: {unknown})"
        )
    return checked


# ---------------------------------------------------------------------------
# Cross-validation
# ---------------------------------------------------------------------------


def log_rmse(log_prediction: np.ndarray, log_truth: np.ndarray) -> float:
    """RMSLE from log1p prices: sqrt(mean((log1p(ŷ) − log1p(y))²)), Kaggle's metric."""
    return float(np.sqrt(np.mean((log_prediction - log_truth) ** 2)))


def out_of_fold(
    models: Mapping[str, Any], X: pd.DataFrame, y: pd.Series, folds: np.ndarray
) -> pd.DataFrame:
    """Each model's out-of-fold log1p price prediction: one column per model, (n, M).

    ``folds[i]`` is the fold of row i; row i is predicted by a clone fitted on the other folds.
    """
    oof = pd.DataFrame(index=X.index, columns=list(models), dtype=float)
    for name, model in models.items():
        for k in np.unique(folds):
            train, valid = folds != k, folds == k
            fitted = clone(model).fit(X.loc[train], y.loc[train])
            oof.loc[valid, name] = np.log1p(fitted.predict(X.loc[valid]))
    return oof


def fold_ids(n: int, n_folds: int, n_repeats: int, seed: int) -> np.ndarray:
    """Fold number (0 … K−1) of each row in each repeat of a shuffled K-fold split, (R, n)."""
    folds = np.empty((n_repeats, n), dtype=int)
    splits = RepeatedKFold(n_splits=n_folds, n_repeats=n_repeats, random_state=seed)
    for i, (_, valid) in enumerate(splits.split(np.zeros(n))):
        folds[i // n_folds, valid] = i % n_folds
    return folds


def score_table(
    log_predictions: list[pd.DataFrame], log_truth: np.ndarray, folds: np.ndarray, keep: np.ndarray
) -> pd.DataFrame:
    """Per model: RMSLE on each validation fold of each repeat, mean and std over the R·K folds.

    ``log_predictions[r]`` holds repeat r's out-of-fold predictions, ``folds[r]`` its
    folds; only the rows where ``keep`` are scored.
    """
    rows = []
    for name in log_predictions[0].columns:
        scores = []
        for oof, fold in zip(log_predictions, folds, strict=True):
            prediction = oof[name].to_numpy()
            for k in np.unique(fold):
                scored = (fold == k) & keep
                scores.append(log_rmse(prediction[scored], log_truth[scored]))
        row = {"model": name, "mean": float(np.mean(scores)), "std": float(np.std(scores))}
        rows.append(row | {f"fold_{i + 1}": float(v) for i, v in enumerate(scores)})
    return pd.DataFrame(rows)


def cross_validate(
    members: Mapping[str, DropTrainingOutliers],
    weights: Mapping[str, float],
    X: pd.DataFrame,
    y: pd.Series,
    n_folds: int,
    n_repeats: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Out-of-fold log predictions and two score tables over ``n_repeats`` × ``n_folds`` folds.

    The ensemble's out-of-fold prediction is the weighted mean of its members'
    (weights normalised). The predictions frame holds one row per house and
    repeat: the ensemble's and the members' log1p prices, ``fold`` and ``repeat``
    (from 1). The tables score every validation house, and every one but the
    outliers (flagged by the members' rule even when it keeps them in fit).
    """
    folds = fold_ids(len(X), n_folds, n_repeats, seed)
    repeats = []
    for fold in folds:
        oof = out_of_fold(members, X, y, fold)
        oof["ensemble"] = sum(oof[n] * w for n, w in weights.items()) / sum(weights.values())
        repeats.append(oof[["ensemble", *members]])
    log_truth = np.log1p(y.to_numpy(dtype=float))
    outlier = next(iter(members.values())).outliers(X, y)
    every = score_table(repeats, log_truth, folds, np.ones(len(X), dtype=bool))
    without = score_table(repeats, log_truth, folds, ~outlier)
    long = pd.concat(
        oof.assign(fold=fold + 1, repeat=r + 1)
        for r, (oof, fold) in enumerate(zip(repeats, folds, strict=True))
    )
    return long, every, without
