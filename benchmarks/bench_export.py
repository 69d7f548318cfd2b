"""Per-image CPU latency of a MobileNetV2 in each deployment runtime (the s3.distill student's).

The network is MobileNetV2 (Sandler et al. 2018, Table 2: width 1.0, inverted residual
blocks t/c/n/s = 1/16/1/1, 6/24/2/2, 6/32/3/2, 6/64/4/2, 6/96/3/1, 6/160/3/2,
6/320/1/1, a 1×1 conv to 1280 channels, global pooling, a linear classifier) with the
usual CIFAR changes: 32×32×3 input, the stem and the first stride-2 stage at stride 1,
10 classes — 2.24 M parameters. Its weights are random (seed 0) and its BatchNorm
statistics drawn away from (0, 1) so that folding them is exercised; latency does not
depend on the weights. The batch is 16 N(0, 1) images; no dataset is needed.

Each runtime: batch 1, one thread, median of 50 calls after 5 warm-up calls, the
exported file loaded in a fresh process (see ``ai_roadmap.deploy.export``). ``max_abs_diff``
is max |Δ logit| against eager on the 16 images.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ai_roadmap.deploy.export import export_all

# (expansion t, output channels c, repeats n, first stride s); CIFAR: s = 1 for the 24-channel stage
BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
BLOCKS += ((6, 160, 3, 2), (6, 320, 1, 1))
REPEATS = 50


def conv_bn_relu6(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
    return [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU6(),
    ]


class InvertedResidual(nn.Module):
    """1×1 expand (t·c_in) → 3×3 depthwise (stride s) → 1×1 linear projection, + x if same shape."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        expand = conv_bn_relu6(c_in, hidden, 1) if expansion != 1 else []
        self.block = nn.Sequential(
            *expand,
            *conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x) if self.residual else self.block(x)


def mobilenet_v2(classes: int = 10) -> nn.Sequential:
    layers: list[nn.Module] = [*conv_bn_relu6(3, 32, 3)]
    c_in = 32
    for expansion, c_out, repeats, stride in BLOCKS:
        for i in range(repeats):
            layers.append(InvertedResidual(c_in, c_out, stride if i == 0 else 1, expansion))
            c_in = c_out
    layers += [*conv_bn_relu6(c_in, 1280, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return nn.Sequential(*layers, nn.Linear(1280, classes))


def _model() -> nn.Module:
    torch.manual_seed(0)
    model = mobilenet_v2()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def run() -> list[dict[str, Any]]:
    model = _model()
    parameters = sum(p.numel() for p in model.parameters())
    images = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with tempfile.TemporaryDirectory(prefix="bench-export-") as scratch:
        report = export_all(model, images, Path(scratch), "mobilenet_v2", repeats=REPEATS)
    return [
        {
            "model": f"MobileNetV2-CIFAR ({parameters / 1e6:.2f} M params)",
            "format": row.format,
            "size_bytes": row.size_bytes,
            "latency_ms": row.latency_ms,
            "threads": row.threads,
            "max_abs_diff": row.max_abs_diff,
            "passed": row.passed,
            "runtime": row.runtime,
            "detail": row.detail,
        }
        for row in report.rows
    ]
