"""s2.house — Kaggle House Prices: regularised linear models and LightGBM, blended.

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
cross-validation on the 1 460 training houses (Kaggle keeps the test prices
private). Each fold fits every statistic — imputation medians, skewed-column
choice, scaling, one-hot levels — on its training part only, and the
validation part keeps all its houses, outliers included. The blend's fold
scores come from the members' out-of-fold predictions: refitting the
``VotingRegressor`` on a fold would refit the same members on the same rows.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor, make_column_selector
from sklearn.ensemble import VotingRegressor
from sklearn.linear_model import ElasticNet, Lasso, Ridge
from sklearn.model_selection import RepeatedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, RobustScaler
from sklearn.svm import SVR

from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model
from ai_roadmap.classic.house_features import (
    ClipToFitRange,
    DropTrainingOutliers,
    HouseFeatures,
    SkewedLog1p,
)
from ai_roadmap.datasets.house import load_house_prices
from ai_roadmap.result import Result

DATASET = "kaggle house prices (train 1 460 / test 1 459)"
TARGET = "SalePrice"
# Models that see the scaled, clipped numbers (LightGBM sees them raw).
SCALED_KINDS = {"lasso": Lasso, "ridge": Ridge, "elasticnet": ElasticNet, "svr": SVR}


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

        # one thread by default: see `n_jobs` in conf/s2.house/config.yaml
        return LGBMRegressor(**{"verbose": -1, "n_jobs": 1, "random_state": seed, **params})
    if kind not in SCALED_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; use lgbm or one of {list(SCALED_KINDS)}")
    cls = SCALED_KINDS[kind]
    if "random_state" in cls().get_params():
        params.setdefault("random_state", seed)
    return cls(**params)


def build_log_pipeline(spec: Mapping[str, Any], seed: int, features: Mapping[str, Any]) -> Pipeline:
    """Raw columns -> log1p(price): features, encoding, regressor."""
    return Pipeline(
        [
            ("features", HouseFeatures(add_flags=bool(features["add_flags"]))),
            (
                "encode",
                _encoder(
                    linear=spec["kind"] != "lgbm",
                    skew_threshold=float(features["skew_threshold"]),
                    clip=bool(features["clip_to_fit_range"]),
                ),
            ),
            ("model", build_regressor(spec, seed)),
        ]
    )


def in_dollars(log_model: Any, outliers: Mapping[str, Any]) -> DropTrainingOutliers:
    """Wrap a log-price model: dollars in and out, outliers left out of fit."""
    target = TransformedTargetRegressor(
        regressor=log_model, func=np.log1p, inverse_func=np.expm1, check_inverse=False
    )
    return DropTrainingOutliers(
        target,
        enabled=bool(outliers["drop"]),
        min_area=float(outliers["min_area"]),
        max_price=float(outliers["max_price"]),
    )


def build_ensemble(
    members: Mapping[str, Pipeline], weights: Mapping[str, float]
) -> VotingRegressor:
    """Weighted average of the members' log-price predictions."""
    names = list(weights)
    return VotingRegressor(
        [(name, members[name]) for name in names], weights=[float(weights[n]) for n in names]
    )


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


# ---------------------------------------------------------------------------
# Artefacts
# ---------------------------------------------------------------------------


def plot_oof(
    log_truth: np.ndarray, log_prediction: np.ndarray, outlier: np.ndarray, title: str, path: Path
) -> Path:
    """Out-of-fold predicted vs actual log1p(SalePrice), the two outliers marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.scatter(log_truth[~outlier], log_prediction[~outlier], s=6, alpha=0.5, label="houses")
    ax.scatter(
        log_truth[outlier],
        log_prediction[outlier],
        s=30,
        c="red",
        label="outliers (not trained on)",
    )
    low, high = (
        min(log_truth.min(), log_prediction.min()),
        max(log_truth.max(), log_prediction.max()),
    )
    ax.plot([low, high], [low, high], "k--", lw=1, label="y = x")
    ax.set(xlabel="log1p(SalePrice) actual", ylabel="log1p(SalePrice) out-of-fold prediction")
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_submission(ids: pd.Series, prices: np.ndarray, path: Path) -> Path:
    """Kaggle's format: ``Id,SalePrice``; refuses NaN or non-positive prices."""
    prices = np.asarray(prices, dtype=float)
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("submission has NaN, infinite or non-positive prices")
    pd.DataFrame({"Id": ids.to_numpy(), TARGET: prices}).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------
# Milestone
# ---------------------------------------------------------------------------


def _members(cfg: DictConfig) -> dict[str, Pipeline]:
    models = OmegaConf.to_container(cfg.models, resolve=True)
    features = OmegaConf.to_container(cfg.features, resolve=True)
    return {  # a model set to null (e.g. by a scale preset) is left out
        name: build_log_pipeline(spec, int(cfg.seed), features)
        for name, spec in models.items()
        if spec is not None
    }


def _weights(cfg: DictConfig) -> dict[str, float]:
    """The ensemble's weights; each member must be one of the configured models."""
    weights = {name: float(weight) for name, weight in cfg.ensemble.weights.items()}
    models = [name for name, spec in cfg.models.items() if spec is not None]
    unknown = sorted(set(weights) - set(models))
    if unknown or not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
        raise ValueError(
            f"ensemble.weights {weights} must be non-negative, not all 0, and name models "
            f"among {models} (unknown: {unknown})"
        )
    return weights


def cross_validate(
    cfg: DictConfig, X: pd.DataFrame, y: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Out-of-fold log predictions and two score tables over ``cv.repeats`` × ``cv.folds`` folds.

    The predictions frame holds one row per house and repeat: the members'
    and the ensemble's log1p prices, ``fold`` and ``repeat`` (from 1). The
    tables score every validation house, and every one but the outliers.
    """
    members = {n: in_dollars(m, cfg.outliers) for n, m in _members(cfg).items()}
    weights = _weights(cfg)
    folds = fold_ids(len(X), int(cfg.cv.folds), int(cfg.cv.repeats), int(cfg.seed))
    repeats = []
    for fold in folds:
        oof = out_of_fold(members, X, y, fold)
        oof["ensemble"] = sum(oof[n] * w for n, w in weights.items()) / sum(weights.values())
        repeats.append(oof[["ensemble", *members]])
    log_truth = np.log1p(y.to_numpy(dtype=float))
    outlier = next(iter(members.values())).outliers(X, y)  # flagged even when kept in fit
    every = score_table(repeats, log_truth, folds, np.ones(len(X), dtype=bool))
    without = score_table(repeats, log_truth, folds, ~outlier)
    long = pd.concat(
        oof.assign(fold=fold + 1, repeat=r + 1)
        for r, (oof, fold) in enumerate(zip(repeats, folds, strict=True))
    )
    return long, every, without


def _metrics(table: pd.DataFrame, without: pd.DataFrame) -> dict[str, float]:
    scores = table.set_index("model")
    metrics = {
        "cv_rmsle": float(scores.loc["ensemble", "mean"]),
        "cv_rmsle_std": float(scores.loc["ensemble", "std"]),
    }
    for name in scores.index.drop("ensemble"):
        metrics[f"cv_rmsle_{name}"] = float(scores.loc[name, "mean"])
        metrics[f"cv_rmsle_{name}_std"] = float(scores.loc[name, "std"])
    metrics["cv_rmsle_without_outliers"] = float(without.set_index("model").loc["ensemble", "mean"])
    return metrics


def _save(
    model: DropTrainingOutliers, X: pd.DataFrame, metrics: dict[str, float], out: Path
) -> Path:
    schema = infer_input_schema(X.drop(columns="Id"))
    for column in schema.values():
        column["nullable"] = True  # HouseFeatures fills a gap in any column
    card = ModelCard(
        name="s2.house", task="regression", target=TARGET, input_schema=schema, metrics=metrics
    )
    return save_model(model, out / "model", card)


def _write_oof(oof: pd.DataFrame, X: pd.DataFrame, y: pd.Series, path: Path) -> Path:
    """Out-of-fold prices in dollars, one row per house and repeat."""
    prices = np.expm1(oof.drop(columns=["fold", "repeat"])).add_prefix("oof_")
    houses = pd.DataFrame({"Id": X["Id"], TARGET: y})
    houses.join(prices).join(oof[["fold", "repeat"]]).to_csv(path, index=False)
    return path


def run(cfg: DictConfig) -> Result:
    out = Path(cfg.output_dir)
    data = load_house_prices()
    X, y = data.train.drop(columns=TARGET), data.train[TARGET].astype(float)
    started = time.perf_counter()
    oof, table, without = cross_validate(cfg, X, y)
    metrics = _metrics(table, without) | {"cv_seconds": time.perf_counter() - started}
    table.to_csv(out / "cv_results.csv", index=False)
    oof_file = _write_oof(oof, X, y, out / "oof_predictions.csv")

    started = time.perf_counter()
    model = in_dollars(build_ensemble(_members(cfg), _weights(cfg)), cfg.outliers).fit(X, y)
    metrics["refit_seconds"] = time.perf_counter() - started
    metrics |= {
        "n_train": float(len(X)),
        "n_test": float(len(data.test)),
        "n_dropped_outliers": float(len(model.dropped_index_)),
    }
    submission = write_submission(data.test["Id"], model.predict(data.test), out / "submission.csv")
    first = oof[oof["repeat"] == 1]
    plot = plot_oof(
        np.log1p(y.to_numpy(dtype=float)),
        first["ensemble"].to_numpy(),
        model.outliers(X, y) if model.enabled else np.zeros(len(X), dtype=bool),
        f"s2.house ({cfg.scale}): out-of-fold ensemble (repeat 1)\n"
        f"CV RMSLE {metrics['cv_rmsle']:.4f} ± {metrics['cv_rmsle_std']:.4f}",
        out / "oof_vs_actual.png",
    )
    return Result(
        metrics=metrics,
        dataset=DATASET,
        proxy=False,
        artifacts={
            "submission.csv": submission,
            "cv_results.csv": out / "cv_results.csv",
            "oof_predictions.csv": oof_file,
            "oof_vs_actual.png": plot,
        },
        model_path=_save(model, X, metrics, out),
        params={"ensemble_weights": _weights(cfg), "models": list(_members(cfg))},
        notes=_notes(cfg, table, metrics, data.source),
    )


def _notes(
    cfg: DictConfig, table: pd.DataFrame, metrics: dict[str, float], source: str
) -> list[str]:
    folds, repeats = int(cfg.cv.folds), int(cfg.cv.repeats)
    split = f"{folds}-fold" + (f" × {repeats} repeats" if repeats > 1 else "")
    weights = ", ".join(f"{name} {weight:g}" for name, weight in _weights(cfg).items())
    outliers = (
        f"outliers: {int(metrics['n_dropped_outliers'])} houses with GrLivArea > "
        f"{float(cfg.outliers.min_area):g} sold below ${float(cfg.outliers.max_price):,.0f} are "
        "left out of every training fold and of the final fit, never out of a validation fold; "
        f"scored without them the ensemble's CV RMSLE is {metrics['cv_rmsle_without_outliers']:.4f}"
        if cfg.outliers.drop
        else "outliers: none dropped"
    )
    return [
        f"cv_rmsle is cross-validated on the 1 460 training houses ({split}, shuffled, seed "
        f"{cfg.seed}); Kaggle's test prices are private, so the 1 459 test houses only get "
        "submission.csv",
        f"ensemble: weighted average of the members' log-price predictions ({weights})",
        *(
            f"{row.model}: CV RMSLE {row.mean:.4f} ± {row.std:.4f} "
            f"(mean ± std over {folds * repeats} folds)"
            for row in table.itertuples()
        ),
        outliers,
        "the hyperparameters and weights were set by looking at CV on these same houses, "
        "so the figure is slightly optimistic",
        f"timing: cross-validation {metrics['cv_seconds']:.0f} s, final fit "
        f"{metrics['refit_seconds']:.0f} s; data: {source}",
    ]
