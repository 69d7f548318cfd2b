"""The image tower: a small residual CNN from RGB to a ``dim``-vector.

A 3×3 conv stem (stride ``stem_stride``), then one stage per entry of ``widths`` (a
stride-2 3×3 conv halving the side, then ``blocks`` basic residual blocks as in He et
al. 2016), global average pooling and a linear projection to the joint space. At 64 × 64
input with widths (32, 64, 128, 256) it has ≈ 2 M parameters: small enough to train on
2 CPU cores, large enough to tell 600 clip-art pictures apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ImageTowerConfig:
    """Input side (pixels), stage widths, blocks per stage, the joint-space width."""

    image_size: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: int = 1
    stem_stride: int = 2  # a stride-2 stem quarters the cost of every later layer
    dim: int = 256
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)  # of the RGB input in [0, 1]
    std: tuple[float, float, float] = (0.25, 0.25, 0.25)

    def __post_init__(self) -> None:
        if self.image_size < 16 or not self.widths or self.blocks < 0 or self.dim < 1:
            raise ValueError("image tower: image_size ≥ 16, ≥ 1 width, blocks ≥ 0, dim ≥ 1")


def conv_bn(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


class BasicBlock(nn.Module):
    """x + BN(conv(ReLU(BN(conv(x))))), then ReLU."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(width, width),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class ImageTower(nn.Module):
    """RGB in [0, 1], (B, 3, S, S) → (B, dim) (not normalised; the dual encoder does that)."""

    def __init__(self, cfg: ImageTowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = [conv_bn(3, cfg.widths[0], stride=cfg.stem_stride)]
        c_in = cfg.widths[0]
        for width in cfg.widths:
            layers.append(conv_bn(c_in, width, stride=2))
            layers.extend(BasicBlock(width) for _ in range(cfg.blocks))
            c_in = width
        self.features = nn.Sequential(*layers)
        self.proj = nn.Linear(c_in, cfg.dim)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(cfg.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg.std).view(1, 3, 1, 1), persistent=False)

    def pooled(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C) globally pooled features, before the projection."""
        x = (images - self.mean) / self.std
        return self.features(x).mean(dim=(2, 3))  # (B, C, S/2^k, S/2^k) -> (B, C)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pooled(images))  # (B, C) -> (B, dim)
