"""The class-conditioned U-Net ε_θ(x_t, t, y): ``diffusers.UNet2DModel`` with a spare class slot.

The U-Net (Ronneberger et al. 2015, as used by Ho et al. 2020) has ``len(channels)``
resolution levels of ResNet blocks, self-attention at the lowest one, and adds two
embeddings to every block: the sinusoidal embedding of the timestep t and a learned
embedding of the class y (``num_class_embeds``). The class table has one row per class of
the base data plus ``extra_slots`` spare rows: DreamBooth's rare identifier "[V]" is one of
them, untouched by base training and initialised from its class's row before fine-tuning
(:meth:`ClassConditionalUNet.init_slot`), as a rare token's embedding starts near the
class noun in "a [V] dog".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    """Sizes of the U-Net; ``classes`` counts the base classes, ``extra_slots`` the spare rows."""

    size: int = 32  # image side, pixels
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])  # per resolution level
    layers_per_block: int = 1
    attention_levels: list[int] = field(default_factory=lambda: [2])  # levels with attention
    norm_groups: int = 8
    classes: int = 9
    extra_slots: int = 1

    def __post_init__(self) -> None:
        if not self.channels or any(c % self.norm_groups for c in self.channels):
            raise ValueError("every entry of channels must be a multiple of norm_groups")
        if self.size % 2 ** (len(self.channels) - 1):
            raise ValueError(f"size {self.size} must halve {len(self.channels) - 1} times")
        if any(not 0 <= a < len(self.channels) for a in self.attention_levels):
            raise ValueError("attention_levels must index channels")


class ClassConditionalUNet(nn.Module):
    """ε_θ(x_t, t, y) for images (B, 3, S, S) in [−1, 1], timesteps (B,), labels (B,)."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        from diffusers import UNet2DModel

        self.cfg = cfg
        levels = range(len(cfg.channels))
        attn = set(cfg.attention_levels)
        self.unet: Any = UNet2DModel(
            sample_size=cfg.size,
            in_channels=3,
            out_channels=3,
            block_out_channels=tuple(cfg.channels),
            layers_per_block=cfg.layers_per_block,
            down_block_types=tuple(
                "AttnDownBlock2D" if i in attn else "DownBlock2D" for i in levels
            ),
            up_block_types=tuple(
                "AttnUpBlock2D" if i in attn else "UpBlock2D" for i in reversed(levels)
            ),
            norm_num_groups=cfg.norm_groups,
            num_class_embeds=cfg.classes + cfg.extra_slots,
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        out: Any = self.unet(x, t, class_labels=labels)
        return out.sample

    @property
    def class_table(self) -> nn.Embedding:
        table = self.unet.class_embedding
        assert isinstance(table, nn.Embedding)
        return table

    @torch.no_grad()
    def init_slot(self, slot: int, like: int) -> None:
        """Copy class ``like``'s embedding into spare row ``slot`` (the "[V]" identifier)."""
        if not self.cfg.classes <= slot < self.cfg.classes + self.cfg.extra_slots:
            raise ValueError(f"slot {slot} is not a spare row")
        self.class_table.weight[slot] = self.class_table.weight[like]
