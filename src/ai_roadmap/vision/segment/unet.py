"""U-Net (Ronneberger et al., 2015): a contracting path, an expanding path, and skips.

Level l of the encoder holds ``base · 2^l`` channels at 1/2^l of the input side; each
decoder step doubles the side with a 2×2 transposed convolution (stride 2:
out = (n − 1)·2 + 2 = 2n), concatenates the encoder's features of the same side (the
skip carries the fine detail the bottleneck lost) and mixes them with two 3×3
convolutions. Padding 1 keeps sides equal, so the input side must be divisible by
2^depth. A 1×1 convolution gives one logit per class and pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    in_channels: int = 3
    num_classes: int = 4
    base: int = 16  # channels of the first level
    depth: int = 4  # number of 2× downsamplings

    def __post_init__(self) -> None:
        if self.base < 1 or self.depth < 1 or self.num_classes < 2:
            raise ValueError("UNet needs base ≥ 1, depth ≥ 1 and at least 2 classes")


def double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """(3×3 conv → BatchNorm → ReLU) twice; padding 1 keeps the side."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """(B, C, H, W) → (B, classes, H, W) logits; H and W divisible by 2^depth."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.base * 2**level for level in range(cfg.depth + 1)]
        self.down = nn.ModuleList([double_conv(cfg.in_channels, widths[0])])
        self.down.extend(double_conv(widths[i], widths[i + 1]) for i in range(cfg.depth))
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
            for i in reversed(range(cfg.depth))
        )
        self.mix = nn.ModuleList(
            double_conv(2 * widths[i], widths[i]) for i in reversed(range(cfg.depth))
        )
        self.head = nn.Conv2d(widths[0], cfg.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2**self.cfg.depth
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"U-Net input sides must be divisible by {factor}, got {x.shape}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        skips.pop()  # the bottleneck is x itself
        for up, mix in zip(self.up, self.mix, strict=True):
            x = mix(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)
