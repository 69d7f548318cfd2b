"""Trained pipelines on disk: a joblib file plus a card (sha256, input schema, versions).

The card is what makes a model file safe to hand on: loading recomputes the
file's sha256 and refuses a mismatch (a truncated copy, a different model under
the same name), and the serving layer builds its request schema from
``input_schema`` (types, ranges, allowed categories) without importing the
training code.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap.errors import IntegrityError, RoadmapError

MODEL_FILE = "model.joblib"
CARD_FILE = "model_card.json"
TRACKED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "joblib")


@dataclass
class ModelCard:
    name: str
    task: str  # "classification" | "regression"
    target: str
    input_schema: dict[str, dict[str, Any]]
    sha256: str = ""
    file: str = MODEL_FILE
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    classes: list[Any] = field(default_factory=list)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def infer_input_schema(frame: Any, max_categories: int = 50) -> dict[str, dict[str, Any]]:
    """Per column: ``type`` (integer | number | category), range or allowed values, nullable.

    Ranges are widened by half their width on each side: a request a little
    outside the training range is fine, a value far outside is most likely a
    unit or typing error.
    """
    import pandas as pd

    schema: dict[str, dict[str, Any]] = {}
    for column in frame.columns:
        series = frame[column]
        nullable = bool(series.isna().any())
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            values = sorted({str(v) for v in series.dropna().unique()})
            if len(values) > max_categories:
                schema[column] = {"type": "string", "nullable": nullable}
            else:
                schema[column] = {"type": "category", "categories": values, "nullable": nullable}
            continue
        low, high = float(series.min()), float(series.max())
        margin = (high - low) / 2 if high > low else max(abs(high), 1.0)
        kind = "integer" if pd.api.types.is_integer_dtype(series) else "number"
        schema[column] = {
            "type": kind,
            "min": low - margin,
            "max": high + margin,
            "nullable": nullable,
        }
    return schema


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: Any, folder: Path, card: ModelCard) -> Path:
    """Write ``model.joblib`` and ``model_card.json`` into ``folder`` (atomically)."""
    import joblib

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
        tmp = Path(handle.name)
    try:
        joblib.dump(model, tmp)
        card.sha256 = sha256_file(tmp)
        card.file = MODEL_FILE
        card.versions = library_versions()
        os.replace(tmp, folder / MODEL_FILE)
    finally:
        tmp.unlink(missing_ok=True)
    (folder / CARD_FILE).write_text(json.dumps(asdict(card), indent=2, default=str))
    return folder


def read_card(folder: Path) -> ModelCard:
    path = folder / CARD_FILE
    if not path.exists():
        raise RoadmapError(f"{folder}: no {CARD_FILE}; this is not a saved roadmap model")
    try:
        return ModelCard(**json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as exc:
        raise RoadmapError(f"{path}: unreadable model card ({exc})") from None


def load_model(folder: Path) -> tuple[Any, ModelCard]:
    """The model and its card; refuses a file whose sha256 differs from the card's."""
    import joblib

    card = read_card(folder)
    path = folder / card.file
    if not path.exists():
        raise RoadmapError(f"{path} is missing; run the milestone again to retrain it")
    actual = sha256_file(path)
    if actual != card.sha256:
        raise IntegrityError(
            f"{path}: sha256 {actual[:12]}… differs from its card's {card.sha256[:12]}…; "
            "the file was changed or damaged: retrain it"
        )
    try:
        return joblib.load(path), card
    except Exception as exc:  # a file that hashes right but does not unpickle here
        raise RoadmapError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc})") from None
