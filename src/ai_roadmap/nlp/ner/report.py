"""One row per tagger in a comparison: dev and test scores per type, size, training time.

Every model of the NER comparison — the BiLSTM-CRF variants and any fine-tuned encoder
(full or LoRA) — reports a :class:`ModelReport` built from the same scorer on the same
splits, so the milestone can choose the best by dev F1 and list them side by side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap.nlp.ner.scorer import Score, score


@dataclass
class ModelReport:
    """A model's dev and test scores (per type and ``"overall"``) and what it cost."""

    name: str
    kind: str  # "bilstm-crf" | "encoder"
    dev: dict[str, Score]
    test: dict[str, Score]
    parameters: int
    train_seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    test_predictions: list[list[str]] = field(default_factory=list, repr=False)

    @staticmethod
    def of(
        name: str,
        kind: str,
        gold: tuple[Sequence[Sequence[str]], Sequence[Sequence[str]]],
        predicted: tuple[list[list[str]], list[list[str]]],
        parameters: int,
        train_seconds: float,
        details: dict[str, Any] | None = None,
    ) -> ModelReport:
        """Score (dev, test) predictions against (dev, test) gold tags."""
        return ModelReport(
            name,
            kind,
            score(gold[0], predicted[0]),
            score(gold[1], predicted[1]),
            parameters,
            train_seconds,
            dict(details or {}),
            predicted[1],
        )


def write_reports(path: Path, reports: list[ModelReport], chosen: ModelReport) -> Path:
    """``models.json``: every row, its per-type dev and test scores, and which was chosen."""
    rows = [
        {
            "name": r.name,
            "kind": r.kind,
            "chosen": r is chosen,
            "dev": {k: asdict(v) for k, v in r.dev.items()},
            "test": {k: asdict(v) for k, v in r.test.items()},
            "parameters": r.parameters,
            "train_seconds": r.train_seconds,
            **r.details,
        }
        for r in reports
    ]
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    return path
