"""The one model-folder format: a card beside the model's files, atomic writes, checked loads.

Every trained model the roadmap keeps is a folder:

    model_card.json    name, task, target, input schema, metrics, classes, library versions,
                       and ``files``: the sha256 of every other file in the folder
    model.joblib       a scikit-learn pipeline (:mod:`ai_roadmap.artifacts.sklearn`), or
    model.pt           a torch ``state_dict`` with ``architecture.json`` naming the model
                       class and its config (:mod:`ai_roadmap.artifacts.torch`),
    …                  plus any files the model needs (a vocabulary), hashed the same way.

The card is what makes a folder safe to hand on: loading recomputes every file's
sha256 and refuses a mismatch (a truncated copy, a different model under the same
name), and the serving layer builds its request schema from ``input_schema``
without importing the training code. A folder is written into a temporary sibling
and renamed into place, so an interrupted save never leaves half a model.

Import paths are part of the format: a joblib pickle names the module of each class
it holds (``ai_roadmap.classic.titanic.TitanicFeatures``) and ``architecture.json``
names the model class. Moving such a class needs an entry in ``LEGACY_CLASSES``
(torch) or a module kept at the old path (pickles), and a legacy model in
``tests/data/legacy/`` that still loads.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap.errors import IntegrityError, RoadmapError

CARD_FILE = "model_card.json"
MODEL_FILE = "model.joblib"
TRACKED_LIBRARIES = ("numpy", "pandas", "scikit-learn", "lightgbm", "joblib")


@dataclass
class ModelCard:
    """What a model folder says about itself; ``files`` maps each other file to its sha256."""

    name: str
    task: str  # "classification" | "regression" | "generation" | …
    target: str
    input_schema: dict[str, dict[str, Any]]
    sha256: str = ""  # of ``file``, the main payload (kept for readers of older cards)
    file: str = MODEL_FILE
    versions: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    classes: list[Any] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    format: str = "sklearn"  # "sklearn" | "torch"


def library_versions(*extra: str) -> dict[str, str]:
    """Python and the installed versions of the libraries a model depends on."""
    versions = {"python": platform.python_version()}
    for name in (*TRACKED_LIBRARIES, *extra):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def infer_input_schema(frame: Any, max_categories: int = 50) -> dict[str, dict[str, Any]]:
    """Per column: ``type`` (integer | number | category | string), range or values, nullable.

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


# ── writing and reading a folder ─────────────────────────────────────────────


@contextmanager
def atomic_folder(folder: Path) -> Iterator[Path]:
    """A fresh sibling folder to write into; it replaces ``folder`` only if the block completes."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        yield tmp
        old = None
        if folder.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".old", dir=folder.parent)
            )
            os.replace(folder, old / folder.name)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_card(folder: Path, card: ModelCard, main_file: str) -> None:
    """Hash every file already in ``folder`` into the card, then write the card last."""
    card.file = main_file
    card.files = {
        p.name: sha256_file(p)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != CARD_FILE
    }
    card.sha256 = card.files[main_file]
    text = json.dumps(asdict(card), indent=2, ensure_ascii=False, default=str)
    (folder / CARD_FILE).write_text(text, encoding="utf-8")


def read_card(folder: Path) -> ModelCard:
    path = folder / CARD_FILE
    if not path.exists():
        raise RoadmapError(f"{folder}: no {CARD_FILE}; this is not a saved roadmap model")
    try:
        return ModelCard(**json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, TypeError) as exc:
        raise RoadmapError(f"{path}: unreadable model card ({exc})") from None


def verified_card(folder: Path) -> ModelCard:
    """The card, after checking the sha256 of every file it lists (older cards: the main file)."""
    card = read_card(folder)
    expected = card.files or {card.file: card.sha256}
    for name, digest in expected.items():
        path = folder / name
        if not path.exists():
            raise RoadmapError(f"{path} is missing; run the milestone again to retrain it")
        actual = sha256_file(path)
        if actual != digest:
            raise IntegrityError(
                f"{path}: sha256 {actual[:12]}… differs from its card's {digest[:12]}…; "
                "the file was changed or damaged: retrain it"
            )
    return card


def save_model(model: Any, folder: Path, card: ModelCard) -> Path:
    """A scikit-learn model (any joblib-picklable object) as a model folder; returns ``folder``."""
    from ai_roadmap.artifacts.sklearn import save

    return save(model, folder, card)


def load_model(folder: Path) -> tuple[Any, ModelCard]:
    """The model of a joblib model folder and its card; refuses a changed file."""
    from ai_roadmap.artifacts.sklearn import load

    return load(folder)
