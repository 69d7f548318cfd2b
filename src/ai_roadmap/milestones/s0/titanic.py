"""s0.titanic — Kaggle Titanic with a scikit-learn pipeline, chosen by cross-validation.

The candidates are :mod:`ai_roadmap.classic.titanic` pipelines (engineered features
learned in ``fit``, then the model). The one chosen by repeated stratified K-fold on
the 891 training passengers (``cv.rule=one_se``, the default: the simplest within one
standard error of the best mean; ``best``: the top mean) is refitted on all of them,
saved as a model folder (with its sha256 and input schema) and scored once on the
418 test passengers. The test labels are read for that single score and for nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from omegaconf import DictConfig
from sklearn.pipeline import Pipeline

from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model
from ai_roadmap.classic.titanic import (
    MODEL_KINDS,
    build_model,
    build_pipeline,
    choose,
    select_model,
)
from ai_roadmap.config import typed
from ai_roadmap.datasets.titanic import load_titanic
from ai_roadmap.result import Result

DATASET = "titanic (kaggle train 891; test 418 labelled via titanic3)"


@dataclass(frozen=True)
class CV:
    """Repeated stratified K-fold on the training passengers, and how the winner is picked."""

    folds: int
    repeats: int
    rule: Literal["best", "one_se"]


@dataclass(frozen=True)
class Features:
    """The :class:`~ai_roadmap.classic.titanic.TitanicFeatures` settings."""

    rare_min_count: int
    group_by: Literal["none", "ticket", "ticket+family"]
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """``conf/s0.titanic``: ``models`` maps a name to ``{kind: ..., <hyperparameters>}``;
    the hyperparameters go to the estimator of that kind, which checks them itself."""

    seed: int
    cv: CV
    features: Features
    candidates: tuple[str, ...]
    models: dict[str, dict[str, Any]]
    n_jobs: int | None = None  # joblib workers for cross-validation (-1: all cores)

    def __post_init__(self) -> None:
        unknown = [name for name in self.candidates if name not in self.models]
        if unknown:
            raise ValueError(f"candidates {unknown} are not among models {list(self.models)}")
        kinds = {name: spec.get("kind") for name, spec in self.models.items()}
        bad = {name: kind for name, kind in kinds.items() if kind not in MODEL_KINDS}
        if bad:
            raise ValueError(f"models {bad}: kind must be one of {', '.join(MODEL_KINDS)}")


def candidates(c: Config) -> dict[str, Pipeline]:
    """One pipeline per listed candidate, in the listed order."""
    return {
        name: build_pipeline(
            build_model(c.models[name], c.seed),
            rare_min_count=c.features.rare_min_count,
            group_by=c.features.group_by,
            exclude=c.features.exclude,
        )
        for name in c.candidates
    }


def passenger_schema(X: pd.DataFrame) -> dict[str, dict[str, object]]:
    """Input schema for serving: the raw Kaggle columns; any positive PassengerId.

    The pipeline reads ``PassengerId`` to recognise passengers it was fitted on
    (their group features leave themselves out); a new passenger has a new id.
    """
    schema = infer_input_schema(X)
    schema["PassengerId"] = {"type": "integer", "min": 1, "max": 10**9, "nullable": False}
    return schema


def _save(pipeline: Pipeline, X: pd.DataFrame, out: Path) -> Path:
    card = ModelCard(
        name="s0.titanic",
        task="classification",
        target="Survived",
        input_schema=passenger_schema(X),
        classes=[0, 1],
    )
    return save_model(pipeline, out / "model", card)


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    data = load_titanic()
    X, y = data.train.drop(columns="Survived"), data.train["Survived"].astype(int)
    folds, repeats = c.cv.folds, c.cv.repeats
    pipelines = candidates(c)
    table = select_model(pipelines, X, y, folds, repeats, c.seed, c.n_jobs)
    chosen = choose(table, c.cv.rule, folds * repeats)
    table.sort_values("mean", ascending=False, kind="stable").to_csv(
        out / "cv_results.csv", index=False
    )
    pipeline = pipelines[chosen].fit(X, y)
    model_path = _save(pipeline, X, out)

    predictions = pipeline.predict(data.test)
    submission = pd.DataFrame({"PassengerId": data.test["PassengerId"], "Survived": predictions})
    submission.to_csv(out / "submission.csv", index=False)
    # the one and only use of the test labels: nothing above has seen them
    test_accuracy = float((predictions == data.test_labels.to_numpy()).mean())

    cv = table.set_index("candidate").loc[chosen]
    return Result(
        metrics={
            "test_accuracy": test_accuracy,
            "cv_accuracy_mean": float(cv["mean"]),
            "cv_accuracy_std": float(cv["std"]),
            "n_train": float(len(X)),
            "n_test": float(len(data.test)),
        },
        dataset=DATASET,
        proxy=False,
        artifacts={
            "submission.csv": out / "submission.csv",
            "cv_results.csv": out / "cv_results.csv",
        },
        model_path=model_path,
        params={"chosen_model": chosen},
        notes=[
            f"{chosen} chosen ({c.cv.rule} rule) by {folds}-fold x {repeats} stratified CV "
            f"on the 891 training passengers among {', '.join(pipelines)}",
            f"{chosen}: CV accuracy {cv['mean']:.4f} ± {cv['std']:.4f} (mean ± std over "
            f"{folds * repeats} folds); accuracy {test_accuracy:.4f} on the 418 test passengers",
            f"data: {data.source}",
        ],
    )
