"""Fixtures for the prediction service: three tiny real models, the app, its TestClient.

The models are scikit-learn pipelines fitted in well under a second on small
synthetic frames whose columns mimic the served models' input schemas (an
integer, a nullable float, categories, free text, a column name starting with a
digit); they are saved with :func:`save_model` exactly as ``roadmap serve``
exports them, so the service reads them the way it reads the real ones.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model
from ai_roadmap.serving.app import create_app
from ai_roadmap.serving.fast.compile import export_fast_path
from ai_roadmap.settings import Settings

SERVED = ("titanic", "house", "churn")
VERSION = "7"
MAX_BATCH = 8
ROWS = 80  # > 50 distinct names, so "Name" is inferred as free text, not a category


def _titanic_frame(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    age = rng.uniform(1, 70, ROWS).round(1)
    age[::9] = np.nan
    frame = pd.DataFrame(
        {
            "PassengerId": np.arange(1, ROWS + 1),
            "Pclass": rng.integers(1, 4, ROWS),
            "Name": [f"Passenger {i}, Mr. Example" for i in range(ROWS)],
            "Sex": rng.choice(["female", "male"], ROWS),
            "Age": age,
            "Fare": rng.uniform(5, 100, ROWS).round(2),
            "Embarked": rng.choice(np.array(["C", "Q", "S", None], dtype=object), ROWS),
        }
    )
    logit = 2.0 * (frame["Sex"] == "female") - 0.8 * (frame["Pclass"] - 2) + rng.normal(0, 1, ROWS)
    return frame, (logit > 0).to_numpy(int)


def _house_frame(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    frontage = rng.uniform(30, 120, ROWS).round(0)
    frontage[::7] = np.nan
    frame = pd.DataFrame(
        {
            "1stFlrSF": rng.integers(500, 2500, ROWS),
            "OverallQual": rng.integers(1, 11, ROWS),
            "LotFrontage": frontage,
            "Neighborhood": rng.choice(["CollgCr", "NAmes", "OldTown", "Somerst"], ROWS),
        }
    )
    price = 50_000 + 80.0 * frame["1stFlrSF"] + 9_000.0 * frame["OverallQual"]
    return frame, (price + rng.normal(0, 5_000, ROWS)).to_numpy(float)


def _churn_frame(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    tenure = rng.integers(0, 73, ROWS)
    monthly = rng.uniform(18, 120, ROWS).round(2)
    total = (tenure * monthly).round(2)
    total[::11] = np.nan
    frame = pd.DataFrame(
        {
            "female": rng.integers(0, 2, ROWS),
            "tenure": tenure,
            "contract": rng.choice(["Month-to-month", "One year", "Two year"], ROWS),
            "internet_service": rng.choice(["DSL", "Fiber optic", "No"], ROWS),
            "monthly_charges": monthly,
            "total_charges": total,
        }
    )
    logit = 1.5 * (frame["contract"] == "Month-to-month") - 0.04 * (tenure - 30)
    return frame, (logit + rng.normal(0, 1, ROWS) > 0.5).to_numpy(int)


def _pipeline(frame: pd.DataFrame, estimator: Any) -> Any:
    """Impute + scale the numbers, impute + one-hot the categories, drop free text."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categories = [c for c in frame.columns if c not in numbers and c != "Name"]
    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            ("cat", encode, categories),
        ]
    )
    return make_pipeline(columns, estimator)


def _export(folder: Path, frame: pd.DataFrame, y: np.ndarray, card: ModelCard) -> None:
    from sklearn.linear_model import LogisticRegression, Ridge

    classify = card.task == "classification"
    model = _pipeline(frame, LogisticRegression() if classify else Ridge()).fit(frame, y)
    card.input_schema = infer_input_schema(frame)
    card.metrics = {"train_score": float(model.score(frame, y))}
    card.classes = [0, 1] if classify else []
    save_model(model, folder, card)
    (folder / "VERSION").write_text(f"{VERSION}\n")
    assert export_fast_path(folder) == "fast"  # as `roadmap serve --export-only` does


# name -> (frame builder, seed, milestone, target, task)
SPECS = {
    "titanic": (_titanic_frame, 0, "s0.titanic", "Survived", "classification"),
    "house": (_house_frame, 1, "s2.house", "SalePrice", "regression"),
    "churn": (_churn_frame, 2, "s2.churn", "churn", "classification"),
}


@pytest.fixture(scope="session")
def training_frames() -> dict[str, pd.DataFrame]:
    """The frame each fixture model was trained on (valid request records come from it)."""
    return {
        name: build(np.random.default_rng(seed))[0] for name, (build, seed, *_) in SPECS.items()
    }


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<dir>/{titanic,house,churn}/`` with model.joblib, model_card.json and VERSION "7"."""
    root = tmp_path_factory.mktemp("served")
    for name, (build, seed, milestone, target, task) in SPECS.items():
        frame, y = build(np.random.default_rng(seed))
        card = ModelCard(name=milestone, task=task, target=target, input_schema={})
        _export(root / name, frame, y, card)
    return root


@pytest.fixture(scope="session")
def serve_settings(model_dir: Path) -> Settings:
    return Settings(
        serve_model_dir=model_dir, serve_models=",".join(SERVED), serve_max_batch=MAX_BATCH
    )


@pytest.fixture(scope="session")
def app(serve_settings: Settings) -> FastAPI:
    return create_app(serve_settings)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient used as a context manager, so the lifespan loads the models."""
    with TestClient(app) as test_client:
        yield test_client


def _json_record(row: pd.Series) -> dict[str, Any]:
    """One frame row as a JSON request body (NaN -> null, NumPy scalars -> Python)."""
    return {
        k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()
    }


@pytest.fixture(scope="session")
def records(training_frames: dict[str, pd.DataFrame]) -> Callable[[str, int], list[dict]]:
    """``records(name, n)``: the first ``n`` training rows of a model as request bodies."""

    def make(name: str, n: int = 1) -> list[dict[str, Any]]:
        frame = training_frames[name]
        return [_json_record(frame.iloc[i]) for i in range(n)]

    return make


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
