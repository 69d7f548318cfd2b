"""A trained NER tagger on disk, the registry's copy, and entities out of raw text.

A model folder is the roadmap's torch model folder (:mod:`ai_roadmap.artifacts.torch`):
``model.pt`` (the ``state_dict``), ``architecture.json`` (the class
``ai_roadmap.nlp.ner.model.BiLSTMCRF`` and its config: sizes and tag names),
``vocab.json`` (characters, bigrams and tags by id) and ``model_card.json`` (sha256 of
every file, the run's metrics). Loading rebuilds the network from these files alone;
no training code or config is needed. ``roadmap run s4.ner`` registers the folder in
the MLflow model registry as ``s4.ner``; ``roadmap ner`` uses its ``@champion``.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from torch import nn

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.artifacts import torch as torch_folder
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.nlp.ner.features import Vocab
from ai_roadmap.nlp.ner.model import BiLSTMCRF
from ai_roadmap.nlp.ner.scorer import entities
from ai_roadmap.nlp.ner.train import tag_texts
from ai_roadmap.settings import Settings

MILESTONE = "s4.ner"
VOCAB = "vocab.json"
MAX_CHARS = 2000
NOT_TRAINED = f"no trained {MILESTONE} model; run `roadmap run {MILESTONE}` first"
INPUT_SCHEMA = {"text": {"type": "string", "max_length": MAX_CHARS}}


@dataclass(frozen=True)
class Mention:
    """One entity found in a text: ``text[start:end]`` is ``text`` (end exclusive)."""

    text: str
    type: str
    start: int
    end: int


def save(
    model: BiLSTMCRF, vocab: Vocab, folder: Path, metrics: dict[str, float] | None = None
) -> Path:
    card = ModelCard(
        name=MILESTONE,
        task="token-classification",
        target="IOB2 tag per character (PER, LOC, ORG)",
        input_schema=INPUT_SCHEMA,
        metrics=dict(metrics or {}),
        classes=list(vocab.tags),
    )
    return torch_folder.save_torch_model(model, folder, card, extras={VOCAB: vocab.to_json()})


class Tagger:
    """A loaded tagger: raw text in, entity mentions out."""

    def __init__(self, model: BiLSTMCRF, vocab: Vocab, card: ModelCard) -> None:
        self.model, self.vocab, self.card = model, vocab, card

    @staticmethod
    def load(folder: Path) -> Tagger:
        """The tagger in ``folder``; refuses a changed or missing file."""
        state, architecture, card = torch_folder.load_torch_state(folder)
        if architecture["class"] != f"{BiLSTMCRF.__module__}.{BiLSTMCRF.__qualname__}":
            raise RoadmapError(f"{folder} holds a {architecture['class']}, not an NER tagger")
        model = torch_folder.build(architecture["class"], architecture["config"])
        model.load_state_dict(state)
        path = folder / VOCAB
        if not path.exists():
            raise RoadmapError(f"{path} is missing; run `roadmap run {MILESTONE}` again")
        assert isinstance(model, BiLSTMCRF)
        return Tagger(model.eval(), Vocab.from_json(path.read_text(encoding="utf-8")), card)

    def mentions(self, text: str) -> list[Mention]:
        """Entities of one text, in order, with character spans."""
        check_text(text)
        tags = tag_texts(self.model, self.vocab, [text])[0]
        return [Mention(text[a:b], kind, a, b) for _, kind, a, b in entities(tags)]


def check_text(text: str) -> None:
    if not text.strip():
        raise UsageError('the text is empty; give a sentence, e.g. roadmap ner "鲁迅在北京任教"')
    if len(text) > MAX_CHARS:
        raise UsageError(
            f"the text has {len(text)} characters, over the limit of {MAX_CHARS}; "
            "split it into shorter pieces"
        )


def as_dicts(mentions: list[Mention]) -> list[dict[str, object]]:
    return [asdict(m) for m in mentions]


def load_registered(settings: Settings) -> tuple[Tagger, str]:
    """The registry's ``s4.ner`` champion and its version, or the one-line fix."""
    from ai_roadmap.tracking import champion_model_dir

    with tempfile.TemporaryDirectory(prefix="ner-model-") as tmp:
        try:
            folder, version = champion_model_dir(settings, MILESTONE, Path(tmp))
        except RoadmapError:
            raise RoadmapError(NOT_TRAINED) from None
        return Tagger.load(folder), version


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
