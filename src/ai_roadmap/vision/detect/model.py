"""The network: a CSP backbone, a PAN neck and an anchor-free decoupled head (YOLOv8 ideas).

* **Backbone.** Strided 3×3 convolutions (Conv-BN-SiLU) halve the picture five times;
  between them C2f blocks — a cross-stage-partial block: one 1×1 convolution splits
  the channels in two, one half passes through ``n`` residual bottlenecks, and every
  bottleneck's output is kept and concatenated (more gradient paths for few FLOPs).
  SPPF (three chained 5×5 max-pools, concatenated) widens the last receptive field.
* **Neck.** FPN top-down (upsample the deep map, concatenate with the shallower one)
  then PAN bottom-up (strided convolution back down), giving maps at strides 8/16/32.
* **Head.** Per level, two separate branches (decoupled): class logits, and for each
  box edge a distribution over ``reg_max`` distance bins (Distribution Focal Loss,
  Li et al. 2020); the predicted distance is the distribution's expectation × stride.
  No anchor boxes: each cell centre predicts its distances to the four edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.vision.detect.boxes import distance_to_box, make_anchors

STRIDES = (8, 16, 32)


@dataclass(frozen=True)
class DetectorConfig:
    """Size of the detector; ``width`` scales channels, ``depth`` the bottlenecks per C2f."""

    num_classes: int = 3
    width: int = 16  # channels after the stem; later stages double it, capped by max_width
    max_width: int = 256
    depth: int = 1
    reg_max: int = 16  # distance bins per box edge
    image_size: int = 256  # for the class-bias prior only

    def __post_init__(self) -> None:
        if self.num_classes < 1 or self.width < 4 or self.depth < 1 or self.reg_max < 2:
            raise ValueError("num_classes ≥ 1, width ≥ 4, depth ≥ 1, reg_max ≥ 2")


class Conv(nn.Sequential):
    """Convolution → BatchNorm → SiLU, 'same' padding."""

    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, k, s, k // 2, bias=False),
            nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.03),
            nn.SiLU(inplace=True),
        )


class Bottleneck(nn.Module):
    """Two 3×3 convolutions with a residual connection."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.cv1, self.cv2 = Conv(c, c, 3), Conv(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cv2(self.cv1(x))


class C2f(nn.Module):
    """Cross-stage partial block: split, ``n`` chained bottlenecks, concatenate all, fuse."""

    def __init__(self, c_in: int, c_out: int, n: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        self.c = c_out // 2
        self.cv1 = Conv(c_in, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c_out, 1)
        block = Bottleneck if shortcut else lambda c: nn.Sequential(Conv(c, c, 3), Conv(c, c, 3))
        self.m = nn.ModuleList(block(self.c) for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.cv1(x).chunk(2, 1))  # (B, 2c, H, W) -> 2 × (B, c, H, W)
        for m in self.m:
            parts.append(m(parts[-1]))
        return self.cv2(torch.cat(parts, 1))


class SPPF(nn.Module):
    """Spatial pyramid pooling, fast: three chained 5×5 max-pools, concatenated."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        hidden = c_in // 2
        self.cv1, self.cv2 = Conv(c_in, hidden, 1), Conv(4 * hidden, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(F.max_pool2d(y[-1], 5, 1, 2))
        return self.cv2(torch.cat(y, 1))


class Backbone(nn.Module):
    """Stem and four stages; returns the stride-8, 16 and 32 maps."""

    def __init__(self, cfg: DetectorConfig) -> None:
        super().__init__()
        c = [min(cfg.width * 2**i, cfg.max_width) for i in range(5)]  # 16, 32, 64, 128, 256
        d = cfg.depth
        self.stem = nn.Sequential(Conv(3, c[0], 3, 2), Conv(c[0], c[1], 3, 2), C2f(c[1], c[1], d))
        self.p3 = nn.Sequential(Conv(c[1], c[2], 3, 2), C2f(c[2], c[2], 2 * d))
        self.p4 = nn.Sequential(Conv(c[2], c[3], 3, 2), C2f(c[3], c[3], 2 * d))
        self.p5 = nn.Sequential(Conv(c[3], c[4], 3, 2), C2f(c[4], c[4], d), SPPF(c[4], c[4]))
        self.channels = (c[2], c[3], c[4])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        p3 = self.p3(self.stem(x))
        p4 = self.p4(p3)
        return [p3, p4, self.p5(p4)]


class Neck(nn.Module):
    """FPN top-down then PAN bottom-up over (P3, P4, P5)."""

    def __init__(self, ch: tuple[int, int, int], depth: int) -> None:
        super().__init__()
        c3, c4, c5 = ch
        self.top4 = C2f(c5 + c4, c4, depth, shortcut=False)
        self.top3 = C2f(c4 + c3, c3, depth, shortcut=False)
        self.down3 = Conv(c3, c3, 3, 2)
        self.out4 = C2f(c3 + c4, c4, depth, shortcut=False)
        self.down4 = Conv(c4, c4, 3, 2)
        self.out5 = C2f(c4 + c5, c5, depth, shortcut=False)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        p3, p4, p5 = feats
        t4 = self.top4(torch.cat((F.interpolate(p5, scale_factor=2.0), p4), 1))
        n3 = self.top3(torch.cat((F.interpolate(t4, scale_factor=2.0), p3), 1))
        n4 = self.out4(torch.cat((self.down3(n3), t4), 1))
        n5 = self.out5(torch.cat((self.down4(n4), p5), 1))
        return [n3, n4, n5]


class Head(nn.Module):
    """Decoupled head: per level a box branch (4 × reg_max logits) and a class branch."""

    def __init__(self, ch: tuple[int, int, int], cfg: DetectorConfig) -> None:
        super().__init__()
        self.nc, self.reg_max = cfg.num_classes, cfg.reg_max
        c_box = max(16, ch[0] // 4, 4 * cfg.reg_max)
        c_cls = max(ch[0], min(cfg.num_classes, 100))
        self.box = nn.ModuleList(
            nn.Sequential(
                Conv(c, c_box, 3), Conv(c_box, c_box, 3), nn.Conv2d(c_box, 4 * cfg.reg_max, 1)
            )
            for c in ch
        )
        self.cls = nn.ModuleList(
            nn.Sequential(
                Conv(c, c_cls, 3), Conv(c_cls, c_cls, 3), nn.Conv2d(c_cls, cfg.num_classes, 1)
            )
            for c in ch
        )
        for box, cls, s in zip(self.box, self.cls, STRIDES, strict=True):
            box_out = [m for m in box.modules() if isinstance(m, nn.Conv2d)][-1]
            cls_out = [m for m in cls.modules() if isinstance(m, nn.Conv2d)][-1]
            assert box_out.bias is not None and cls_out.bias is not None
            box_out.bias.data.fill_(1.0)
            # prior: about 5 objects per image spread over (size / s)² cells
            cls_out.bias.data.fill_(math.log(5 / cfg.num_classes / (cfg.image_size / s) ** 2))

    def forward(
        self, feats: list[torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        """(box logits (B, A, 4·reg_max), class logits (B, A, nc), level shapes)."""
        boxes, classes, shapes = [], [], []
        for x, box, cls in zip(feats, self.box, self.cls, strict=True):
            shapes.append((x.shape[2], x.shape[3]))
            boxes.append(box(x).flatten(2))  # (B, 4R, H, W) -> (B, 4R, HW)
            classes.append(cls(x).flatten(2))
        return torch.cat(boxes, 2).transpose(1, 2), torch.cat(classes, 2).transpose(1, 2), shapes


def dfl_expectation(logits: torch.Tensor, reg_max: int) -> torch.Tensor:
    """(..., 4·R) bin logits → (..., 4) expected distance in strides: Σ_i i · softmax_i."""
    bins = torch.arange(reg_max, device=logits.device, dtype=logits.dtype)
    probs = logits.unflatten(-1, (4, reg_max)).softmax(-1)  # (..., 4R) -> (..., 4, R)
    return probs @ bins


class Detector(nn.Module):
    """Backbone + neck + head. ``forward`` returns raw outputs; :meth:`decode` boxes and scores."""

    def __init__(self, cfg: DetectorConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = Backbone(cfg)
        self.neck = Neck(self.backbone.channels, cfg.depth)
        self.head = Head(self.backbone.channels, cfg)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        return self.head(self.neck(self.backbone(x)))

    def decode(
        self, box_logits: torch.Tensor, cls_logits: torch.Tensor, shapes: list[tuple[int, int]]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(boxes (B, A, 4) in pixels, class probabilities (B, A, nc))."""
        points, strides = make_anchors(shapes, list(STRIDES), box_logits.device)
        ltrb = dfl_expectation(box_logits.float(), self.cfg.reg_max) * strides
        return distance_to_box(points, ltrb), cls_logits.float().sigmoid()

    def predict_raw(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded (boxes, probabilities) of a batch of normalised images."""
        return self.decode(*self(x))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
