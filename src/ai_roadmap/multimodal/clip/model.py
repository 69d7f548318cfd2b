"""The dual encoder: an image tower and a text tower meeting in one normalised space.

``encode_images`` and ``encode_texts`` return L2-normalised ``(B, dim)`` embeddings, so
the cosine of an image and a text is their dot product; ``forward`` returns the
``(B, B)`` logits ``exp(t) · U Vᵀ`` that :func:`.loss.info_nce` scores. The text
tower is ours (:mod:`.text_tower`, ``text_tower: hash``) or the frozen MiniLM with a
trained projection (:mod:`.minilm`, ``text_tower: minilm``); both end in ``dim``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.multimodal.clip.image_tower import ImageTower, ImageTowerConfig
from ai_roadmap.multimodal.clip.loss import INIT_LOGIT_SCALE, LogitScale, clip_logits
from ai_roadmap.multimodal.clip.minilm import MiniLMConfig, MiniLMTower
from ai_roadmap.multimodal.clip.text_tower import HashTextConfig, HashTextTower

TEXT_TOWERS = ("hash", "minilm")


@dataclass(frozen=True)
class ClipConfig:
    """Both towers, the joint-space width they share, the initial log logit scale."""

    dim: int = 256
    text_tower: Literal["hash", "minilm"] = "hash"
    image: ImageTowerConfig = field(default_factory=ImageTowerConfig)
    hash_text: HashTextConfig = field(default_factory=HashTextConfig)
    minilm: MiniLMConfig = field(default_factory=MiniLMConfig)
    init_logit_scale: float = INIT_LOGIT_SCALE

    def __post_init__(self) -> None:
        if self.text_tower not in TEXT_TOWERS:
            raise ValueError(f"text_tower must be one of {', '.join(TEXT_TOWERS)}")
        if self.dim < 1:
            raise ValueError("dim must be ≥ 1")


class DualEncoder(nn.Module):
    """CLIP-style dual encoder; both ``encode_*`` return L2-normalised (B, dim) rows."""

    def __init__(self, cfg: ClipConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_tower = ImageTower(replace(cfg.image, dim=cfg.dim))
        self.text_tower: HashTextTower | MiniLMTower = (
            HashTextTower(replace(cfg.hash_text, dim=cfg.dim))
            if cfg.text_tower == "hash"
            else MiniLMTower(replace(cfg.minilm, dim=cfg.dim))
        )
        self.logit_scale = LogitScale(cfg.init_logit_scale)

    @property
    def image_size(self) -> int:
        return self.cfg.image.image_size

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1], (B, 3, S, S) at the tower's side S → (B, dim), unit rows."""
        return F.normalize(self.image_tower(images).float(), dim=-1)

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """Captions → (B, dim), unit rows."""
        return F.normalize(self.text_tower(texts).float(), dim=-1)

    def forward(self, images: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """(B, B) logits of every image against every text."""
        return clip_logits(self.encode_images(images), self.encode_texts(texts), self.logit_scale())
