"""s2.house — Kaggle House Prices: regularised linear models and LightGBM, blended.

Each configured model is a :mod:`ai_roadmap.classic.house` estimator (raw Kaggle
columns in, dollars out, log1p price learned); the ensemble averages the members'
log-price predictions. ``cv_rmsle`` is the ensemble's RMSLE by shuffled K-fold
cross-validation on the 1 460 training houses: Kaggle keeps the test prices
private, so the 1 459 test houses only get ``submission.csv``. The ensemble is
then refitted on every training house and saved as a model folder for serving.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig
from sklearn.pipeline import Pipeline

from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model
from ai_roadmap.classic.house import (
    MODEL_KINDS,
    TARGET,
    FeatureOptions,
    OutlierRule,
    build_ensemble,
    build_log_pipeline,
    cross_validate,
    ensemble_weights,
    in_dollars,
)
from ai_roadmap.classic.house_features import DropTrainingOutliers
from ai_roadmap.config import typed
from ai_roadmap.datasets.house import load_house_prices
from ai_roadmap.plots import figure
from ai_roadmap.result import Result

DATASET = "kaggle house prices (train 1 460 / test 1 459)"


@dataclass(frozen=True)
class CV:
    folds: int  # shuffled K-fold on the training houses
    repeats: int  # repeats of the K-fold, each with a fresh shuffle


@dataclass(frozen=True)
class Ensemble:
    weights: dict[str, float]  # member name -> weight (normalised to sum to 1)


@dataclass(frozen=True)
class Config:
    """``conf/s2.house``: ``models`` maps a name to ``{kind: ..., <hyperparameters>}`` or
    None (left out); the hyperparameters go to the regressor of that kind."""

    seed: int
    cv: CV
    features: FeatureOptions
    outliers: OutlierRule
    models: dict[str, dict[str, Any] | None]
    ensemble: Ensemble

    def __post_init__(self) -> None:
        kinds = {name: spec.get("kind") for name, spec in self.models.items() if spec is not None}
        bad = {name: kind for name, kind in kinds.items() if kind not in MODEL_KINDS}
        if bad:
            raise ValueError(f"models {bad}: kind must be one of {', '.join(MODEL_KINDS)}")
        ensemble_weights(self.ensemble.weights, self.models)

    @property
    def weights(self) -> dict[str, float]:
        return ensemble_weights(self.ensemble.weights, self.models)


def members(c: Config) -> dict[str, Pipeline]:
    """The log-price pipeline of every configured model (a model set to None is left out)."""
    return {
        name: build_log_pipeline(spec, c.seed, c.features)
        for name, spec in c.models.items()
        if spec is not None
    }


# ---------------------------------------------------------------------------
# Artefacts
# ---------------------------------------------------------------------------


def plot_oof(
    log_truth: np.ndarray, log_prediction: np.ndarray, outlier: np.ndarray, title: str, path: Path
) -> Path:
    """Out-of-fold predicted vs actual log1p(SalePrice), the two outliers marked."""
    low = min(log_truth.min(), log_prediction.min())
    high = max(log_truth.max(), log_prediction.max())
    with figure(path, figsize=(6, 6), dpi=120) as (_, ax):
        ax.scatter(log_truth[~outlier], log_prediction[~outlier], s=6, alpha=0.5, label="houses")
        ax.scatter(
            log_truth[outlier],
            log_prediction[outlier],
            s=30,
            c="red",
            label="outliers (not trained on)",
        )
        ax.plot([low, high], [low, high], "k--", lw=1, label="y = x")
        ax.set(xlabel="log1p(SalePrice) actual", ylabel="log1p(SalePrice) out-of-fold prediction")
        ax.set_title(title, fontsize=10)
        ax.legend()
    return path


def write_submission(ids: pd.Series, prices: np.ndarray, path: Path) -> Path:
    """Kaggle's format: ``Id,SalePrice``; refuses NaN or non-positive prices."""
    prices = np.asarray(prices, dtype=float)
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("submission has NaN, infinite or non-positive prices")
    pd.DataFrame({"Id": ids.to_numpy(), TARGET: prices}).to_csv(path, index=False)
    return path


def _write_oof(oof: pd.DataFrame, X: pd.DataFrame, y: pd.Series, path: Path) -> Path:
    """Out-of-fold prices in dollars, one row per house and repeat."""
    prices = np.expm1(oof.drop(columns=["fold", "repeat"])).add_prefix("oof_")
    houses = pd.DataFrame({"Id": X["Id"], TARGET: y})
    houses.join(prices).join(oof[["fold", "repeat"]]).to_csv(path, index=False)
    return path


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


# ---------------------------------------------------------------------------
# Milestone
# ---------------------------------------------------------------------------


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    data = load_house_prices()
    X, y = data.train.drop(columns=TARGET), data.train[TARGET].astype(float)
    started = time.perf_counter()
    wrapped = {name: in_dollars(m, c.outliers) for name, m in members(c).items()}
    oof, table, without = cross_validate(wrapped, c.weights, X, y, c.cv.folds, c.cv.repeats, c.seed)
    metrics = _metrics(table, without) | {"cv_seconds": time.perf_counter() - started}
    table.to_csv(out / "cv_results.csv", index=False)
    oof_file = _write_oof(oof, X, y, out / "oof_predictions.csv")

    started = time.perf_counter()
    model = in_dollars(build_ensemble(members(c), c.weights), c.outliers).fit(X, y)
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
        params={"ensemble_weights": c.weights, "models": list(wrapped)},
        notes=_notes(c, table, metrics, data.source),
    )


def _notes(c: Config, table: pd.DataFrame, metrics: dict[str, float], source: str) -> list[str]:
    folds, repeats = c.cv.folds, c.cv.repeats
    split = f"{folds}-fold" + (f" × {repeats} repeats" if repeats > 1 else "")
    weights = ", ".join(f"{name} {weight:g}" for name, weight in c.weights.items())
    outliers = (
        f"outliers: {int(metrics['n_dropped_outliers'])} houses with GrLivArea > "
        f"{c.outliers.min_area:g} sold below ${c.outliers.max_price:,.0f} are "
        "left out of every training fold and of the final fit, never out of a validation fold; "
        f"scored without them the ensemble's CV RMSLE is {metrics['cv_rmsle_without_outliers']:.4f}"
        if c.outliers.drop
        else "outliers: none dropped"
    )
    return [
        f"cv_rmsle is cross-validated on the 1 460 training houses ({split}, shuffled, seed "
        f"{c.seed}); Kaggle's test prices are private, so the 1 459 test houses only get "
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
