"""MobileNetV2 in plain PyTorch: inverted residual blocks with linear bottlenecks.

Sandler, Howard, Zhu, Zhmoginov & Chen, "MobileNetV2: Inverted Residuals and
Linear Bottlenecks" (CVPR 2018). A standard k×k convolution from c to c' channels
costs k²·c·c' multiply-adds per pixel; a depthwise-separable one (k×k per channel,
then a 1×1 mixing) costs k²·c + c·c', about k² = 9 times less for large c'.

An inverted residual block with expansion t maps a thin tensor to a thin tensor
through a wide one, the opposite of ResNet's bottleneck:

    h₁ = ReLU6(BN(W_expand · x))          1×1, c → t·c          (skipped when t = 1)
    h₂ = ReLU6(BN(W_depth ∗ h₁))          3×3 depthwise, stride s
    y  = BN(W_project · h₂)  [+ x]         1×1, t·c → c', *no* ReLU; shortcut if s = 1, c = c'

The projection is linear on purpose: the paper shows that a ReLU on a
low-dimensional tensor destroys information that cannot be recovered, while in
the expanded space (t = 6) it is nearly invertible.

The network is a 3×3 stem conv (32 channels), the stages below given as
(t, c, n, s) — expansion, output channels, repeats, stride of the first repeat —
a 1×1 conv to 1 280 channels, global average pooling, dropout and a linear
classifier. The width multiplier α scales every channel count (rounded to a
multiple of 8); the last conv keeps 1 280 unless α > 1.

For 32×32 / 28×28 inputs the CIFAR variant uses stride 1 in the stem and in the
second stage (as common CIFAR baselines do), so the final feature map is 4×4
instead of 1×1. Strides do not change the parameter count: the ImageNet
configuration (1 000 classes, α = 1) has the published 3 504 872; with 10 classes
it has 2 236 682 ≈ 2.2 M.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# (expansion t, output channels c, repeats n, first stride s), Table 2 of the paper.
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280


@dataclass(frozen=True)
class MobileNetV2Config:
    """MobileNetV2 hyperparameters; the defaults suit CIFAR-10 (CIFAR strides, α = 1)."""

    in_channels: int = 3
    num_classes: int = 10
    width_mult: float = 1.0
    cifar_stem: bool = True
    dropout: float = 0.2

    def __post_init__(self) -> None:
        if self.in_channels < 1 or self.num_classes < 2:
            raise ValueError("in_channels ≥ 1 and num_classes ≥ 2 are required")
        if self.width_mult <= 0 or not 0.0 <= self.dropout < 1.0:
            raise ValueError("width_mult > 0 and 0 ≤ dropout < 1 are required")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round to the nearest multiple of ``divisor``, never more than 10 % below ``value``.

    Channel counts that are multiples of 8 map well onto vector units; this is
    the rounding of the reference implementation.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn_relu6(
    c_in: int, c_out: int, kernel: int, stride: int, groups: int = 1
) -> nn.Sequential:
    """Conv (no bias) → BN → ReLU6; ``groups = c_in = c_out`` makes it depthwise."""
    conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """Expand (1×1) → depthwise 3×3 → linear project (1×1), plus x when shapes allow."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.use_shortcut = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_relu6(c_in, hidden, 1, 1))
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),  # linear bottleneck: no activation after the projection
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_shortcut else out


class MobileNetV2(nn.Module):
    """Stem → inverted residual stages → 1×1 conv to 1 280 → pool → dropout → linear."""

    def __init__(self, cfg: MobileNetV2Config | None = None) -> None:
        super().__init__()
        self.cfg = cfg or MobileNetV2Config()
        alpha = self.cfg.width_mult
        c_in = make_divisible(STEM_CHANNELS * alpha)
        last = make_divisible(LAST_CHANNELS * max(1.0, alpha))
        stem_stride = 1 if self.cfg.cifar_stem else 2
        layers: list[nn.Module] = [conv_bn_relu6(self.cfg.in_channels, c_in, 3, stem_stride)]
        for index, (t, c, n, s) in enumerate(INVERTED_RESIDUAL_SETTING):
            c_out = make_divisible(c * alpha)
            first_stride = 1 if (self.cfg.cifar_stem and index == 1) else s
            for repeat in range(n):
                layers.append(InvertedResidual(c_in, c_out, first_stride if repeat == 0 else 1, t))
                c_in = c_out
        layers.append(conv_bn_relu6(c_in, last, 1, 1))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(self.cfg.dropout), nn.Linear(last, self.cfg.num_classes)
        )
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, C, H, W) -> (B, 1280, H/8, W/8) with the CIFAR strides
        return self.classifier(torch.flatten(self.pool(x), 1))  # -> (B, classes)


def mobilenet_v2(
    in_channels: int = 3, num_classes: int = 10, width_mult: float = 1.0
) -> MobileNetV2:
    """MobileNetV2 with the CIFAR strides (stem and second stage at stride 1)."""
    return MobileNetV2(MobileNetV2Config(in_channels, num_classes, width_mult))
