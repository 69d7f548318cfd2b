"""A trained poetry model on disk, and the registry's copy of the latest one.

A model folder is the roadmap's torch model folder (:mod:`ai_roadmap.artifacts.torch`):
``model.pt`` (the ``state_dict``), ``architecture.json`` (the class
``ai_roadmap.nlp.poetry.model.PoetryLSTM`` and its :class:`~.model.LSTMConfig`, so the
folder rebuilds its network without the training config), ``vocab.json`` (token strings
by id) and ``model_card.json`` (the sha256 of every other file, library versions, the
run's metrics). The folder is written atomically, and loading recomputes every sha256
and refuses a file that differs from its card.

Folders written before this format hold ``config.json`` (``{"kind", "sizes"}``) in
place of ``architecture.json`` and a card that hashes ``model.pt`` only; :func:`load`
reads them too, rebuilding the network from the kind, the sizes and the vocabulary.

The same folder holds the s4.transformer decoder
(``ai_roadmap.nlp.transformer.decoder.DecoderLM``, card name ``s4.transformer``): both are
character language models over the same vocabulary and are decoded by the same code.

``roadmap run s3.poetry`` (``s4.transformer``) registers the folder in the MLflow model
registry under the milestone id; :func:`load_registered` fetches the version the
registry's ``@champion`` alias points at — the latest run that passed its bar, a
smoke-scale model standing in only until a real run exists (see
:func:`ai_roadmap.tracking.register_model`).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ai_roadmap.artifacts import ModelCard, verified_card
from ai_roadmap.artifacts import torch as torch_folder
from ai_roadmap.errors import RoadmapError
from ai_roadmap.nlp.poetry.model import PoetryLSTM
from ai_roadmap.nlp.poetry.vocab import Vocab
from ai_roadmap.settings import Settings

MILESTONE = "s3.poetry"
TRANSFORMER_MILESTONE = "s4.transformer"
VOCAB = "vocab.json"
LEGACY_CONFIG = "config.json"  # {"kind", "sizes"}: the format before architecture.json
KINDS = {
    "lstm": f"{PoetryLSTM.__module__}.{PoetryLSTM.__qualname__}",
    "transformer": "ai_roadmap.nlp.transformer.decoder.DecoderLM",
}


def not_trained(milestone: str) -> str:
    """The one-line fix when the registry has no model of ``milestone``."""
    return f"no trained {milestone} model; run `roadmap run {milestone} --scale quick` first"


NOT_TRAINED = not_trained(MILESTONE)
INPUT_SCHEMA: dict[str, dict[str, Any]] = {
    "form": {"type": "category", "categories": ["wujue", "qijue", "wulv", "qilv"]},
    "head": {"type": "string", "nullable": True},
    "first_line": {"type": "string", "nullable": True},
}


def save(
    model: nn.Module,
    vocab: Vocab,
    folder: Path,
    metrics: dict[str, float] | None = None,
    name: str = MILESTONE,
) -> Path:
    """The model folder of ``model`` (which keeps its config in ``.config``); returns it."""
    card = ModelCard(
        name=name,
        task="generation",
        target="next character",
        input_schema=INPUT_SCHEMA,
        metrics=dict(metrics or {}),
    )
    return torch_folder.save_torch_model(model, folder, card, extras={VOCAB: vocab.to_json()})


def load(folder: Path, device: str = "cpu") -> tuple[nn.Module, Vocab, ModelCard]:
    """The model (eval mode), its vocabulary and card; refuses a changed or missing file."""
    if (folder / torch_folder.ARCHITECTURE_FILE).exists():
        state, architecture, card = torch_folder.load_torch_state(folder)
        vocab = _vocab(folder)
    else:
        card = verified_card(folder)
        vocab = _vocab(folder)
        architecture = _legacy_architecture(folder, vocab)
        state = torch.load(folder / card.file, map_location="cpu", weights_only=True)
    if architecture["class"] not in KINDS.values():
        raise RoadmapError(f"{folder} holds a {architecture['class']}, not a poetry model")
    model = torch_folder.build(architecture["class"], architecture["config"])
    model.load_state_dict(state)
    return model.to(device).eval(), vocab, card


def _vocab(folder: Path) -> Vocab:
    path = folder / VOCAB
    if not path.exists():
        raise RoadmapError(f"{path} is missing; run `roadmap run {MILESTONE}` again")
    return Vocab.load(path)


def _legacy_architecture(folder: Path, vocab: Vocab) -> dict[str, Any]:
    """``{"class", "config"}`` of an old folder from its ``config.json`` and vocabulary."""
    path = folder / LEGACY_CONFIG
    if not path.exists():
        raise RoadmapError(f"{path} is missing; run `roadmap run {MILESTONE}` again")
    config = json.loads(path.read_text())
    if config.get("kind") not in KINDS:
        raise RoadmapError(f"{path}: unknown model kind {config.get('kind')!r}")
    return {"class": KINDS[config["kind"]], "config": {"vocab_size": len(vocab), **config["sizes"]}}


def load_registered(
    settings: Settings, device: str = "cpu", milestone: str = MILESTONE
) -> tuple[nn.Module, Vocab, ModelCard, str]:
    """The registry's current model of ``milestone`` and its version, or the one-line fix."""
    from ai_roadmap.tracking import champion_model_dir

    with tempfile.TemporaryDirectory(prefix="poetry-model-") as tmp:
        try:
            folder, version = champion_model_dir(settings, milestone, Path(tmp))
        except RoadmapError:
            raise RoadmapError(not_trained(milestone)) from None
        model, vocab, card = load(folder, device)
    return model, vocab, card, version
