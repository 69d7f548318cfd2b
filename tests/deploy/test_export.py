"""Deployment exports of a small MobileNetV2-like CNN, checked on real Fashion-MNIST images.

Each of TorchScript lite (.ptl), ExecuTorch/XNNPACK (.pte) and ONNX (.onnx) is
loaded in a fresh Python process and must reproduce the eager model within 1e-4;
a model changed after export must be reported as a mismatch, and a broken file
as one RoadmapError line.
"""

from __future__ import annotations

import copy
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ai_roadmap.datasets.fashion_mnist import CLASSES, load_fashion_mnist
from ai_roadmap.deploy.export import (
    FORMATS,
    SUFFIXES,
    TOLERANCE,
    ExportReport,
    export_all,
    verify_export,
    write_model_card,
)
from ai_roadmap.errors import RoadmapError

pytestmark = [
    pytest.mark.slow,
    pytest.mark.data,
    pytest.mark.filterwarnings("ignore::FutureWarning"),  # torch.export's own pytree notices
]

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST pixel mean and std (on [0, 1])
N_IMAGES = 16


def conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1×1 expand → ReLU6 → 3×3 depthwise → ReLU6 → 1×1 project, + x."""

    def __init__(self, channels: int, expand: int) -> None:
        super().__init__()
        hidden = channels * expand
        self.block = nn.Sequential(
            *conv_bn(channels, hidden, 1),
            nn.ReLU6(),
            *conv_bn(hidden, hidden, 3, groups=hidden),
            nn.ReLU6(),
            *conv_bn(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class TinyStudent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(1, 8, 3, stride=2), nn.ReLU6(), InvertedResidual(8, expand=4)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(8, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.features(images)).flatten(1))


def make_student() -> TinyStudent:
    """Seeded, eval mode, with BatchNorm statistics far from (0, 1) so folding them matters."""
    torch.manual_seed(0)
    model = TinyStudent()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    test_images = load_fashion_mnist()[2][:N_IMAGES]
    scaled = (test_images.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(scaled).unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)


@pytest.fixture(scope="module")
def exported(
    images: torch.Tensor, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TinyStudent, ExportReport]:
    model = make_student()
    report = export_all(model, images, tmp_path_factory.mktemp("exports"), "student", repeats=5)
    return model, report


def test_every_export_matches_eager_in_a_fresh_process(
    exported: tuple[TinyStudent, ExportReport],
) -> None:
    _, report = exported
    assert [row.format for row in report.rows] == ["eager", *FORMATS]
    assert report.batch_shape == (N_IMAGES, 1, 28, 28)
    for row in report.rows[1:]:
        assert row.path is not None and row.path.suffix == SUFFIXES[row.format]
        assert row.size_bytes == row.path.stat().st_size > 0
        assert row.max_abs_diff <= TOLERANCE, row
        assert row.passed and row.top1_agreement == 1.0, row
        assert row.latency_ms > 0 and row.threads == 1
    assert report.passed and report.metrics()["exports_failed"] == 0
    eager = report.row("eager")
    assert eager.path is not None and eager.size_bytes == eager.path.stat().st_size


def test_model_card_describes_the_input(
    exported: tuple[TinyStudent, ExportReport], tmp_path: Path
) -> None:
    _, report = exported
    card = json.loads(
        write_model_card(report, tmp_path / "student.json", (MEAN,), (STD,), CLASSES).read_text()
    )
    assert card["input"] == {"shape": [1, 1, 28, 28], "layout": "NCHW", "dtype": "float32"}
    assert card["normalisation"]["mean"] == [MEAN] and card["output"]["classes"][9] == "Ankle boot"
    assert card["files"]["executorch"]["file"] == "student.pte"
    with pytest.raises(RoadmapError, match="one per input channel"):
        write_model_card(report, tmp_path / "rgb.json", (0.5,) * 3, (0.2,) * 3, CLASSES)


def test_model_changed_after_export_is_a_mismatch(
    exported: tuple[TinyStudent, ExportReport], images: torch.Tensor
) -> None:
    model, report = exported
    altered = copy.deepcopy(model)
    with torch.no_grad():
        altered.classifier.bias[3] += 1e-3  # logit 3 of every image moves by exactly 1e-3

    def check(fmt: str):
        return verify_export(fmt, report.row(fmt).path, altered, images, repeats=1)

    with ThreadPoolExecutor(max_workers=len(FORMATS)) as pool:
        rows = list(pool.map(check, FORMATS))
    for row in rows:
        assert not row.passed, row
        assert row.max_abs_diff == pytest.approx(1e-3, abs=2e-5), row


def _truncate(path: Path, out: Path) -> Path:
    out.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return out


def _garbage(path: Path, out: Path) -> Path:
    out.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))
    return out


@pytest.mark.parametrize(
    ("fmt", "corrupt"),
    [("executorch", _truncate), ("onnx", _garbage), ("onnx", _truncate), ("torchscript", _garbage)],
)
def test_broken_file_is_one_line_error(
    exported: tuple[TinyStudent, ExportReport], images: torch.Tensor, tmp_path: Path, fmt, corrupt
) -> None:
    model, report = exported
    broken = corrupt(report.row(fmt).path, tmp_path / f"corrupt{SUFFIXES[fmt]}")
    with pytest.raises(RoadmapError) as info:
        verify_export(fmt, broken, model, images, repeats=1)
    message = str(info.value)
    assert "\n" not in message and "broken or unreadable" in message and broken.name in message


def test_missing_file_and_unknown_format_are_errors(
    exported: tuple[TinyStudent, ExportReport], images: torch.Tensor, tmp_path: Path
) -> None:
    model, _ = exported
    with pytest.raises(RoadmapError, match="missing or empty"):
        verify_export("onnx", tmp_path / "nothing.onnx", model, images)
    with pytest.raises(RoadmapError, match="unknown export format"):
        export_all(model, images, tmp_path, "student", formats=("tflite",))


def test_a_channels_last_model_is_exported_in_plain_layout(
    images: torch.Tensor, tmp_path: Path
) -> None:
    """A model trained channels-last exports whole into XNNPACK, the caller's copy untouched."""
    model = make_student().to(memory_format=torch.channels_last)
    report = export_all(model, images, tmp_path, "cl", formats=("executorch",), repeats=1)
    row = report.row("executorch")
    assert row.passed and row.detail.endswith("outside: none"), row.detail
    depthwise = model.features[3].block[3].weight  # 32×1×3×3: layouts differ in strides
    assert depthwise.is_contiguous(memory_format=torch.channels_last)
