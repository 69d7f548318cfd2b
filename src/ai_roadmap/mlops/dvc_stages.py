"""The commands the DVC pipeline's stages run: ``python -m ai_roadmap.mlops.dvc_stages STEP KEY``.

Run at the root of a DVC project whose ``params.yaml`` holds, for each pipeline
key (``titanic``, ``house``, ``churn``), the milestone's Hydra config under
``<key>`` and ``milestones.<key>`` = ``{id, dataset, table, target, task, model}``.
Paths follow one layout, so ``dvc.yaml`` can name every dependency and output:

* ``pull``     pulled dataset (``roadmap data pull``)   → ``data/<dataset>/``
* ``prepare``  ``data/<dataset>/<table>``               → ``prepared/<key>/{fit,holdout}.parquet``
  (a seeded split: ``prepare.holdout`` of the rows held out, stratified for classification)
* ``train``    ``prepared/<key>/fit.parquet`` + ``<key>`` → ``models/<key>.pkl``
  (the milestone's own model builder from :mod:`ai_roadmap.classic`, its Hydra hyperparameters)
* ``evaluate`` model + holdout                          → ``metrics/<key>.json``

Metrics: classification ``accuracy``, ``log_loss = −(1/n) Σ y log p + (1−y) log(1−p)``
and ``roc_auc``; regression ``rmsle = √((1/n) Σ (log1p ŷ − log1p y)²)``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError

PARAMS_FILE = "params.yaml"


def load_params(root: Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((root / PARAMS_FILE).read_text(encoding="utf-8"))


def _atomic_dir(final: Path, fill: Callable[[Path], None]) -> None:
    """Fill a sibling temp folder, then rename it into place (no half-written output)."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fill(tmp)
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


# ── the model of each milestone, built from its Hydra config section ──────────


def fit_titanic(X: Any, y: Any, p: Mapping[str, Any], model: str) -> Any:
    from ai_roadmap.classic.titanic import build_model, build_pipeline

    f = p["features"]
    pipeline = build_pipeline(
        build_model(p["models"][model], int(p["seed"])),
        rare_min_count=int(f["rare_min_count"]),
        group_by=f["group_by"],
        exclude=tuple(f.get("exclude") or ()),
    )
    return pipeline.fit(X, y)


def fit_house(X: Any, y: Any, p: Mapping[str, Any], model: str) -> Any:
    from ai_roadmap.classic.house import (
        FeatureOptions,
        OutlierRule,
        build_ensemble,
        build_log_pipeline,
        ensemble_weights,
        in_dollars,
    )

    features, seed = FeatureOptions(**p["features"]), int(p["seed"])
    members = {
        name: build_log_pipeline(spec, seed, features)
        for name, spec in p["models"].items()
        if spec is not None
    }
    weights = ensemble_weights(p["ensemble"]["weights"], p["models"])
    return in_dollars(build_ensemble(members, weights), OutlierRule(**p["outliers"])).fit(X, y)


def fit_churn(X: Any, y: Any, p: Mapping[str, Any], model: str) -> Any:
    """LightGBM at the centre of the searched space (geometric for log ranges), early-stopped
    on ``split.val_size`` of the fit rows: one fit, no Optuna search."""
    import math

    from sklearn.model_selection import train_test_split

    from ai_roadmap.classic.churn import Booster, FitOptions, fit_lgbm

    params = {}
    for name, dim in p["space"].items():
        low, high = float(dim["low"]), float(dim["high"])
        mid = math.sqrt(low * high) if dim.get("log") else (low + high) / 2
        params[name] = round(mid) if dim.get("integer") else mid
    seed = int(p["seed"])
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=float(p["split"]["val_size"]), stratify=y, random_state=seed
    )
    booster = Booster(**{k: p["model"][k] for k in Booster.__dataclass_fields__})
    options = FitOptions(booster, int(p["features"]["n_tenure_buckets"]), seed)
    return fit_lgbm(X_fit, y_fit.to_numpy(), X_val, y_val.to_numpy(), params, options)


@dataclass(frozen=True)
class Recipe:
    """How the pipeline reproduces one milestone: its data, its label, its model builder."""

    key: str  # the stage suffix (``train@titanic``) and the params.yaml section
    dataset: str  # a manifest dataset
    table: str  # the labelled file of the dataset that is split and learned from
    target: str
    task: str  # classification | regression
    fit: Callable[[Any, Any, Mapping[str, Any], str], Any]
    model: str = ""  # which of the config's models to fit, where it lists several


RECIPES: dict[str, Recipe] = {
    r.key: r
    for r in (
        Recipe(
            "titanic",
            "titanic",
            "train.parquet",
            "Survived",
            "classification",
            fit_titanic,
            "logreg",
        ),
        Recipe("house", "house-prices", "train.parquet", "SalePrice", "regression", fit_house),
        Recipe("churn", "telco-churn", "telco.parquet", "churn", "classification", fit_churn),
    )
}
MILESTONES = {"s0.titanic": "titanic", "s2.house": "house", "s2.churn": "churn"}


# ── the four steps ────────────────────────────────────────────────────────────


def pull(root: Path, key: str) -> None:
    """Copy the pulled dataset's files into ``data/<dataset>/`` (one-line error if not pulled)."""
    from ai_roadmap.datasets import dataset, require

    name = load_params(root)["milestones"][key]["dataset"]
    source = require(name)

    def fill(tmp: Path) -> None:
        for file in dataset(name).files:
            shutil.copyfile(source / file, tmp / file)

    _atomic_dir(root / "data" / name, fill)


def prepare(root: Path, key: str) -> None:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    params = load_params(root)
    spec, split = params["milestones"][key], params["prepare"]
    table = pd.read_parquet(root / "data" / spec["dataset"] / spec["table"])
    labels = table[spec["target"]] if spec["task"] == "classification" else None
    fit, holdout = train_test_split(
        table, test_size=float(split["holdout"]), stratify=labels, random_state=int(split["seed"])
    )

    def fill(tmp: Path) -> None:
        fit.to_parquet(tmp / "fit.parquet", index=False)
        holdout.to_parquet(tmp / "holdout.parquet", index=False)

    _atomic_dir(root / "prepared" / key, fill)


def train(root: Path, key: str) -> None:
    import pandas as pd

    params = load_params(root)
    spec = params["milestones"][key]
    frame = pd.read_parquet(root / "prepared" / key / "fit.parquet")
    X, y = frame.drop(columns=spec["target"]), frame[spec["target"]]
    model = RECIPES[key].fit(X, y, params[key], str(spec.get("model", "")))
    out = root / "models" / f"{key}.pkl"
    out.parent.mkdir(exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(model))
    tmp.replace(out)


def scores(task: str, y: Any, model: Any, X: Any) -> dict[str, float]:
    """The holdout figures of the module docstring."""
    import numpy as np
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    if task == "classification":
        p = model.predict_proba(X)[:, 1]
        return {
            "accuracy": float(accuracy_score(y, (p >= 0.5).astype(int))),
            "log_loss": float(log_loss(y, p, labels=[0, 1])),
            "roc_auc": float(roc_auc_score(y, p)),
        }
    error = np.log1p(np.asarray(model.predict(X), dtype=float)) - np.log1p(np.asarray(y, float))
    return {"rmsle": float(np.sqrt(np.mean(error**2)))}


def evaluate(root: Path, key: str) -> None:
    import pandas as pd

    spec = load_params(root)["milestones"][key]
    frame = pd.read_parquet(root / "prepared" / key / "holdout.parquet")
    model = pickle.loads((root / "models" / f"{key}.pkl").read_bytes())
    figures = scores(spec["task"], frame[spec["target"]], model, frame.drop(columns=spec["target"]))
    out = root / "metrics" / f"{key}.json"
    out.parent.mkdir(exist_ok=True)
    figures["n_holdout"] = float(len(frame))
    out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")


STEPS: dict[str, Callable[[Path, str], None]] = {
    "pull": pull,
    "prepare": prepare,
    "train": train,
    "evaluate": evaluate,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ai_roadmap.mlops.dvc_stages")
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("key", help="a key of params.yaml's `milestones` (titanic, house, churn)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    try:
        STEPS[args.step](Path.cwd(), args.key)
    except RoadmapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
