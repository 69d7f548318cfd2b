"""scikit-learn models (any joblib-picklable object) in the model-folder format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_roadmap.artifacts import (
    MODEL_FILE,
    ModelCard,
    atomic_folder,
    library_versions,
    verified_card,
    write_card,
)
from ai_roadmap.errors import RoadmapError


def save(model: Any, folder: Path, card: ModelCard) -> Path:
    """``model.joblib`` and ``model_card.json`` in ``folder``, written atomically."""
    import joblib

    with atomic_folder(folder) as tmp:
        joblib.dump(model, tmp / MODEL_FILE)
        card.format = "sklearn"
        card.versions = library_versions()
        write_card(tmp, card, MODEL_FILE)
    return folder


def load(folder: Path) -> tuple[Any, ModelCard]:
    """The model and its card; refuses a file whose sha256 differs from the card's."""
    import joblib

    card = verified_card(folder)
    path = folder / card.file
    try:
        return joblib.load(path), card
    except Exception as exc:  # a file that hashes right but does not unpickle here
        raise RoadmapError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc})") from None
