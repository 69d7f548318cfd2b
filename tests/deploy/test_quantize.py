"""Static INT8 quantisation (ONNX Runtime) and side-by-side latency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ai_roadmap.deploy.export import export_onnx, quiet_toolchain
from ai_roadmap.deploy.quantize import quantize_int8, symmetric_weight_scales, weight_scales
from ai_roadmap.deploy.speed import LatencyRow, eager_runner, ort_runner, side_by_side, speedup
from ai_roadmap.errors import RoadmapError


class TinySegmenter(nn.Module):
    """Conv-BN-ReLU ×2 and a 1×1 classifier: a dense (B, classes, H, W) output."""

    def __init__(self, width: int = 32, classes: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _images(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # smooth, image-like inputs: low-frequency noise upsampled
    coarse = rng.normal(size=(n, 3, 8, 8)).astype(np.float32)
    return np.repeat(np.repeat(coarse, 4, axis=2), 4, axis=3)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path, Path]:
    torch.manual_seed(0)
    model = TinySegmenter().eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so folding matters
        for bn in (model.body[1], model.body[4]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    folder = tmp_path_factory.mktemp("quant")
    fp32 = folder / "model.onnx"
    with quiet_toolchain():
        export_onnx(model, torch.from_numpy(_images(2, 0)), fp32)
    int8 = folder / "model.int8.onnx"
    quantize_int8(fp32, int8, _images(32, 1), batch=8)
    return model, fp32, int8


def test_int8_output_stays_close_to_float_and_the_file_shrinks(exported) -> None:
    model, fp32, int8 = exported
    x = _images(4, 2)
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    out = ort_runner(int8, threads=1)(x)[0]
    assert out.shape == reference.shape
    relative = np.abs(out - reference).max() / np.abs(reference).max()
    assert relative < 0.08  # 8-bit: a few per cent of the output range
    agreement = np.mean(out.argmax(axis=1) == reference.argmax(axis=1))
    assert agreement > 0.9
    assert int8.stat().st_size < 0.6 * fp32.stat().st_size


def test_weight_scales_are_max_abs_over_127_per_output_channel_of_the_folded_weights(
    exported,
) -> None:
    model, _, int8 = exported
    scales = weight_scales(int8)
    assert len(scales) == 3  # the three convolutions
    # the first convolution with its BatchNorm folded in: W' = W · γ/√(σ² + ε)
    conv, bn = model.body[0], model.body[1]
    factor = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    folded = (conv.weight.detach() * factor[:, None, None, None]).double().numpy()
    expected = symmetric_weight_scales(folded)
    matches = [s for s in scales.values() if s.shape == expected.shape]
    assert any(np.allclose(s, expected, rtol=1e-5) for s in matches)


def test_a_broken_file_and_an_empty_calibration_set_are_one_line_errors(tmp_path, exported) -> None:
    _, fp32, _ = exported
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(fp32.read_bytes()[:200])
    with pytest.raises(RoadmapError, match="not a readable ONNX model"):
        quantize_int8(broken, tmp_path / "out.onnx", _images(4, 0))
    with pytest.raises(RoadmapError, match="at least one image"):
        quantize_int8(fp32, tmp_path / "out.onnx", _images(0, 0))
    assert not (tmp_path / "out.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.onnx"]  # nothing half-written


def test_side_by_side_interleaves_and_the_speedup_is_a_ratio_of_medians(exported) -> None:
    model, fp32, _ = exported
    order: list[str] = []

    def recorder(name: str, inner):
        def run(batch):
            order.append(name)
            return inner(batch)

        return run

    runners = {
        "eager": recorder("eager", eager_runner(model, threads=1)),
        "ort": recorder("ort", ort_runner(fp32, threads=1)),
    }
    rows = side_by_side(runners, {1: _images(1, 3), 4: _images(4, 3)}, rounds=4, calls=2, warmup=1)
    assert {(r.runtime, r.batch) for r in rows} == {
        ("eager", 1),
        ("ort", 1),
        ("eager", 4),
        ("ort", 4),
    }
    assert all(r.calls == 8 and r.median_ms > 0 and r.p90_ms >= r.median_ms for r in rows)
    timed = order[2:18]  # after the warm-up calls of batch 1: rounds alternate who goes first
    assert timed[:2] == ["eager", "eager"] and timed[4:6] == ["ort", "ort"]
    by = {(r.runtime, r.batch): r.median_ms for r in rows}
    assert speedup(rows, "eager", "ort", 4) == pytest.approx(by[("eager", 4)] / by[("ort", 4)])
    assert LatencyRow("x", 8, 16.0, 20.0, 5).per_image_ms == 2.0
    with pytest.raises(RoadmapError, match="no latency measured"):
        speedup(rows, "eager", "tensorrt", 1)


class BoxesAndProbabilities(nn.Module):
    """A detector-like output: pixel-sized values concatenated with probabilities."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).flatten(2).transpose(1, 2)  # (B, HW, 6)
        return torch.cat((y[..., :4] * 100.0, y[..., 4:].sigmoid()), -1)


def test_leaving_the_concat_float_keeps_small_values_next_to_large_ones(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BoxesAndProbabilities().eval()
    fp32 = tmp_path / "m.onnx"
    with quiet_toolchain():
        export_onnx(model, torch.from_numpy(_images(2, 0)), fp32)
    x = _images(4, 2)
    with torch.no_grad():
        probs = model(torch.from_numpy(x)).numpy()[..., 4:]
    errors = {}
    for name, ops in (("all", None), ("network", ("Conv", "Mul", "Sigmoid"))):
        quantize_int8(fp32, tmp_path / f"{name}.onnx", _images(16, 1), op_types=ops)
        out = ort_runner(tmp_path / f"{name}.onnx", threads=1)(x)[0][..., 4:]
        errors[name] = float(np.abs(out - probs).max())
    assert errors["network"] < 0.05 < errors["all"], errors
