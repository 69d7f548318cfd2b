"""The retrieval index: every stamp's image embedding, saved beside the model weights.

``index.json`` in a model folder lists, for each indexed stamp (train and test
images alike: search answers from all of them), its id, image file (relative to the
``tuxpaint-stamps`` dataset folder), category, captions, split and L2-normalised image
embedding. Text → image search is then one matrix product: score_j = v·u_j for the
query's text embedding v, the top k by score.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

INDEX_FILE = "index.json"


@dataclass(frozen=True)
class IndexEntry:
    """One indexed stamp (no embedding: that is a row of :attr:`ImageIndex.embeddings`)."""

    id: str
    file: str
    category: str
    caption_en: str
    caption_zh: str
    split: str  # train | test


@dataclass
class ImageIndex:
    """Entries and their (N, D) unit image embeddings, in the same order."""

    dataset: str
    entries: list[IndexEntry]
    embeddings: torch.Tensor

    def to_json(self) -> str:
        rows = [[round(float(x), 6) for x in row] for row in self.embeddings.tolist()]
        data: dict[str, Any] = {
            "dataset": self.dataset,
            "entries": [asdict(e) for e in self.entries],
            "embeddings": rows,
        }
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def read(cls, path: Path) -> ImageIndex:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            dataset=data["dataset"],
            entries=[IndexEntry(**e) for e in data["entries"]],
            embeddings=torch.tensor(data["embeddings"], dtype=torch.float32),
        )

    def top(self, query: torch.Tensor, k: int) -> list[tuple[IndexEntry, float]]:
        """The ``k`` entries of highest cosine with the unit ``query`` (D,), best first."""
        scores = self.embeddings @ query  # (N,)
        best = torch.topk(scores, min(k, len(self.entries)))
        return [(self.entries[i], float(s)) for s, i in zip(best.values, best.indices, strict=True)]
