"""DeepLabV3+ (Chen et al., 2018): a dilated ResNet-style encoder, ASPP and a light decoder.

**Output stride.** The encoder halves the side four times (stem, stages 1–3) for an
output stride (OS) of 16, or three times for OS 8; the stages that would halve further
keep the side and *dilate* their 3×3 convolutions instead (rate 2, then 4), so deeper
layers keep the receptive-field growth of a strided network without losing resolution.

**Atrous convolution.** A k×k kernel with dilation d places its taps d pixels apart: it
spans k_eff = k + (k − 1)(d − 1) pixels with only k² weights, and padding
p = d·(k − 1)/2 keeps the side. ASPP runs, in parallel on the OS features, a 1×1
convolution, one 3×3 convolution per rate in ``rates`` and an image-pooling branch
(global average → 1×1 conv → broadcast back), concatenates them and projects with a
1×1 convolution: context at several scales at once. At OS 16 a rate-d branch sees
(k_eff − 1)·16 + 1 input pixels of the feature grid's span; on 160–256 px inputs the
feature map is only 10–16 cells wide, so rates (2, 4, 6) replace the paper's (6, 12, 18)
for 512 px crops (larger rates would read mostly padding).

**Decoder.** The ASPP output is upsampled ×(OS/4) bilinearly, concatenated with the
stage-1 features at OS 4 (reduced by a 1×1 convolution so they do not outweigh the
context), mixed by two 3×3 convolutions and upsampled ×4 to the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.deep.conv_arith import Layer


@dataclass(frozen=True)
class DeepLabConfig:
    in_channels: int = 3
    num_classes: int = 4
    base: int = 16  # stem width; stages have base·(1, 2, 4, 8) channels
    blocks: tuple[int, ...] = (1, 2, 2, 1)  # residual blocks per stage
    output_stride: int = 16  # 8 or 16
    rates: tuple[int, ...] = (2, 4, 6)  # ASPP dilations of the 3×3 branches
    aspp_channels: int = 64
    low_channels: int = 24  # the stage-1 skip after its 1×1 reduction
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.output_stride not in (8, 16):
            raise ValueError("output_stride must be 8 or 16")
        if len(self.blocks) != 4 or min(self.blocks) < 1 or not self.rates:
            raise ValueError("blocks needs 4 stages of ≥ 1 block and rates ≥ 1 dilation")


def conv_bn(c_in: int, c_out: int, k: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """k×k conv (padding d·(k − 1)/2 keeps the side at stride 1) → BatchNorm → ReLU."""
    pad = dilation * (k - 1) // 2
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, stride, pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """ResNet basic block y = ReLU(F(x) + shortcut(x)); F = two 3×3 convs of dilation d."""

    def __init__(self, c_in: int, c_out: int, stride: int, dilation: int) -> None:
        super().__init__()
        self.conv1 = conv_bn(c_in, c_out, 3, stride, dilation)
        self.conv2 = nn.Sequential(
            nn.Conv2d(c_out, c_out, 3, 1, dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + self.shortcut(x))


def stage(c_in: int, c_out: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
    return nn.Sequential(
        BasicBlock(c_in, c_out, stride, dilation),
        *(BasicBlock(c_out, c_out, 1, dilation) for _ in range(blocks - 1)),
    )


class Encoder(nn.Module):
    """Stem (OS 2) and four stages: stage 1 at OS 4 (the low-level skip), stage 4 at OS."""

    def __init__(self, cfg: DeepLabConfig) -> None:
        super().__init__()
        w = [cfg.base * m for m in (1, 2, 4, 8)]
        self.stem = nn.Sequential(conv_bn(cfg.in_channels, w[0], 3, 2), conv_bn(w[0], w[0]))
        # (stride, dilation) per stage: halve until the output stride, then dilate ×2
        strides, dilations, side, rate = [], [], 2, 1
        for _ in range(4):
            if side < cfg.output_stride:
                strides.append(2)
                side *= 2
            else:
                strides.append(1)
                rate *= 2
            dilations.append(rate)
        self.dilations = dilations
        ins = [w[0], *w[:3]]
        self.stages = nn.ModuleList(
            stage(ins[i], w[i], cfg.blocks[i], strides[i], dilations[i]) for i in range(4)
        )
        self.channels = w

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(stage-1 features at OS 4, stage-4 features at the output stride)."""
        x = self.stem(x)
        low = x = self.stages[0](x)
        for block in self.stages[1:]:
            x = block(x)
        return low, x


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1×1, one 3×3 per rate, image pooling; concat, 1×1."""

    def __init__(self, c_in: int, c_out: int, rates: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            [conv_bn(c_in, c_out, 1), *(conv_bn(c_in, c_out, 3, dilation=r) for r in rates)]
        )
        # no BatchNorm on a 1×1 map: with a batch of one its variance is 0
        self.pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(c_in, c_out, 1), nn.ReLU(inplace=True)
        )
        self.project = nn.Sequential(
            conv_bn(c_out * (len(rates) + 2), c_out, 1), nn.Dropout(dropout)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = self.pool(x).expand(-1, -1, *x.shape[-2:])
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))

    def convs(self) -> list[nn.Conv2d]:
        """The first convolution of each branch (1×1, then one per rate)."""
        return [m for b in self.branches for m in b.children() if isinstance(m, nn.Conv2d)]

    def branch_layers(self) -> list[Layer]:
        """The geometry of each convolution branch, read from the modules themselves."""
        out = []
        for conv in self.convs():
            padding = conv.padding if isinstance(conv.padding, tuple) else (0,)
            out.append(
                Layer(
                    "conv",
                    kernel=conv.kernel_size[0],
                    stride=conv.stride[0],
                    padding=int(padding[0]),
                    dilation=conv.dilation[0],
                )
            )
        return out


class DeepLabV3Plus(nn.Module):
    """(B, C, H, W) → (B, classes, H, W) logits; H and W divisible by the output stride."""

    def __init__(self, cfg: DeepLabConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        w = self.encoder.channels
        self.aspp = ASPP(w[3], cfg.aspp_channels, cfg.rates, cfg.dropout)
        self.reduce = conv_bn(w[0], cfg.low_channels, 1)
        self.decoder = nn.Sequential(
            conv_bn(cfg.aspp_channels + cfg.low_channels, cfg.aspp_channels),
            conv_bn(cfg.aspp_channels, cfg.aspp_channels),
        )
        self.head = nn.Conv2d(cfg.aspp_channels, cfg.num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        if size[0] % self.cfg.output_stride or size[1] % self.cfg.output_stride:
            raise ValueError(f"DeepLabV3+ input sides must divide by {self.cfg.output_stride}")
        low, deep = self.encoder(x)
        context = F.interpolate(
            self.aspp(deep), size=low.shape[-2:], mode="bilinear", align_corners=False
        )
        y = self.head(self.decoder(torch.cat([context, self.reduce(low)], dim=1)))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)
