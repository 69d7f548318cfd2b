"""Our own text tower: hashed character n-grams and words, pooled, then an MLP.

A caption becomes a bag of features: every character 1-, 2- and 3-gram of the
lower-cased text with boundary marks (``<a``, ``a f``, …; fastText's subwords,
Bojanowski et al. 2017) and every whitespace word. Each feature is hashed (a stable
FNV-1a hash, not Python's salted ``hash``) into one of ``buckets`` rows of an
``EmbeddingBag``, the mean is taken and an MLP maps it to the joint space. Characters
need no vocabulary, so the same tower reads English and Chinese (a Chinese character
is its own 1-gram; 2- and 3-grams are its words) and a model folder holds no vocab file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

FNV_OFFSET, FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


@dataclass(frozen=True)
class HashTextConfig:
    """Hash buckets, n-gram orders, the bag width and the joint-space width."""

    buckets: int = 1 << 15
    ngrams: tuple[int, ...] = (1, 2, 3)
    width: int = 256
    dim: int = 256
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.buckets < 2 or not self.ngrams or min(self.ngrams) < 1:
            raise ValueError("hash text tower: buckets ≥ 2 and n-gram orders ≥ 1")


def fnv1a(text: str) -> int:
    """64-bit FNV-1a of the UTF-8 bytes: the same number in every process."""
    h = FNV_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def features(text: str, ngrams: Sequence[int]) -> list[str]:
    """Character n-grams of ``<text>`` (lower-cased, spaces collapsed) and its words (cased)."""
    clean = " ".join(text.lower().split())
    padded = f"<{clean}>"
    grams = [f"{n}:{padded[i : i + n]}" for n in ngrams for i in range(len(padded) - n + 1)]
    words = " ".join(text.split()).split()  # case kept: "The letter a." is not "The letter A."
    return grams + [f"w:{w.strip('.,!?;:。，！？')}" for w in words]


@lru_cache(maxsize=1 << 16)
def hash_ids(text: str, cfg: HashTextConfig) -> tuple[int, ...]:
    """The bucket of every feature of ``text`` (an empty text gets the boundary marks only)."""
    return tuple(fnv1a(f) % cfg.buckets for f in features(text, cfg.ngrams))


def batch_ids(texts: Sequence[str], cfg: HashTextConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(flat ids, offsets) for ``nn.EmbeddingBag``."""
    ids = [hash_ids(t, cfg) for t in texts]
    offsets = torch.tensor([0] + [len(i) for i in ids[:-1]]).cumsum(0)
    return torch.tensor([x for i in ids for x in i], dtype=torch.long), offsets


class HashTextTower(nn.Module):
    """Texts → (B, dim): mean of hashed-feature embeddings, LayerNorm, residual MLP, projection."""

    def __init__(self, cfg: HashTextConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.bag = nn.EmbeddingBag(cfg.buckets, cfg.width, mode="mean")
        self.norm = nn.LayerNorm(cfg.width)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.width, 2 * cfg.width),
            nn.GELU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(2 * cfg.width, cfg.width),
        )
        self.proj = nn.Linear(cfg.width, cfg.dim)

    def encode_ids(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.bag(ids, offsets))  # (B, width)
        return self.proj(x + self.mlp(x))

    def forward(self, texts: Sequence[str]) -> torch.Tensor:
        ids, offsets = batch_ids(texts, self.cfg)
        device = self.bag.weight.device
        return self.encode_ids(ids.to(device), offsets.to(device))
