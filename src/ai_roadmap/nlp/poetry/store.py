"""A trained poetry model on disk, and the registry's copy of the latest one.

A model folder holds ``model.pt`` (the ``state_dict``), ``config.json`` (the model kind
and sizes, so the folder rebuilds its network without the training config),
``vocab.json`` (token strings by id) and ``model_card.json`` (the roadmap's model card:
sha256 of ``model.pt``, library versions, the run's metrics). Loading recomputes the
sha256 and refuses a file that differs from its card.

``roadmap run s3.poetry`` registers the folder in the MLflow model registry under the
milestone id; :func:`load_registered` fetches the version the registry's ``@champion``
alias points at — the latest run that passed its bar, a smoke-scale model standing in
only until a real run exists (see :func:`ai_roadmap.tracking.register_model`).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ai_roadmap.artifacts import CARD_FILE, ModelCard, library_versions, read_card, sha256_file
from ai_roadmap.errors import IntegrityError, RoadmapError
from ai_roadmap.nlp.poetry.model import build
from ai_roadmap.nlp.poetry.vocab import Vocab
from ai_roadmap.settings import Settings

MILESTONE = "s3.poetry"
WEIGHTS, CONFIG, VOCAB = "model.pt", "config.json", "vocab.json"
NOT_TRAINED = f"no trained {MILESTONE} model; run `roadmap run {MILESTONE} --scale quick` first"


def save(
    model: nn.Module,
    kind: str,
    sizes: dict[str, Any],
    vocab: Vocab,
    folder: Path,
    metrics: dict[str, float] | None = None,
) -> Path:
    """Write the four files of a model folder; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, folder / WEIGHTS)
    (folder / CONFIG).write_text(json.dumps({"kind": kind, "sizes": sizes}, indent=2))
    vocab.save(folder / VOCAB)
    card = ModelCard(
        name=MILESTONE,
        task="generation",
        target="next character",
        input_schema={
            "form": {"type": "category", "categories": ["wujue", "qijue", "wulv", "qilv"]},
            "head": {"type": "string", "nullable": True},
            "first_line": {"type": "string", "nullable": True},
        },
        sha256=sha256_file(folder / WEIGHTS),
        file=WEIGHTS,
        versions={**library_versions(), "torch": torch.__version__},
        metrics=dict(metrics or {}),
    )
    (folder / CARD_FILE).write_text(json.dumps(asdict(card), indent=2, ensure_ascii=False))
    return folder


def load(folder: Path, device: str = "cpu") -> tuple[nn.Module, Vocab, ModelCard]:
    """The model (eval mode), its vocabulary and card; refuses a damaged weights file."""
    card = read_card(folder)
    weights = folder / card.file
    for path in (weights, folder / CONFIG, folder / VOCAB):
        if not path.exists():
            raise RoadmapError(f"{path} is missing; run `roadmap run {MILESTONE}` again")
    if sha256_file(weights) != card.sha256:
        raise IntegrityError(f"{weights}: sha256 differs from its model card; retrain it")
    config = json.loads((folder / CONFIG).read_text())
    vocab = Vocab.load(folder / VOCAB)
    model = build(config["kind"], len(vocab), **config["sizes"])
    model.load_state_dict(torch.load(weights, map_location=device, weights_only=True))
    return model.to(device).eval(), vocab, card


def load_registered(
    settings: Settings, device: str = "cpu"
) -> tuple[nn.Module, Vocab, ModelCard, str]:
    """The registry's current s3.poetry model and its version, or the one-line fix."""
    from ai_roadmap.tracking import champion_model_dir

    with tempfile.TemporaryDirectory(prefix="poetry-model-") as tmp:
        try:
            folder, version = champion_model_dir(settings, MILESTONE, Path(tmp))
        except RoadmapError:
            raise RoadmapError(NOT_TRAINED) from None
        model, vocab, card = load(folder, device)
    return model, vocab, card, version
