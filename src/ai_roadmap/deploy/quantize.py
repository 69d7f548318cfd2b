"""Static INT8 post-training quantisation of an ONNX model with ONNX Runtime.

Affine quantisation maps a float tensor ``x`` to 8-bit integers

    q = clamp(round(x / s) + z, −128, 127),        x ≈ s · (q − z)

with a scale ``s`` and a zero point ``z``. *Static* means the ranges of the
activations are measured once, before deployment, by running the float model on
calibration batches (here: training scenes, never test ones) and recording each
tensor's observed range (MinMax calibration: ``s = (max − min)/255``, ``z`` chosen so
that 0 is exactly representable). Weights are quantised symmetrically per output
channel (``z = 0``, ``s_c = max|W_c| / 127``), which keeps one channel with large
weights from crushing the resolution of all the others.

The output is a QDQ model: every quantised tensor is wrapped in a
QuantizeLinear → DequantizeLinear pair, and ONNX Runtime fuses
``DQ → Conv → Q`` into an integer convolution on CPUs that have fast int8
instructions (AVX-512 VNNI / AMX here; AVX2 is slower). On a CPU without them the
INT8 file is smaller but not necessarily faster: the milestone measures, it does
not assume.

Before quantising, :func:`quantize_int8` runs ONNX Runtime's pre-processing
(shape inference + graph optimisation), as its documentation recommends, so that
BatchNorm is folded into the convolution before its weights are quantised.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError

METHODS = ("minmax", "entropy", "percentile")


@dataclass(frozen=True)
class QuantReport:
    """What the quantisation produced and what it was calibrated on."""

    path: Path
    float_bytes: int
    int8_bytes: int
    calibration_images: int
    method: str
    per_channel: bool
    seconds: float

    @property
    def size_ratio(self) -> float:
        """INT8 file size ÷ float file size."""
        return self.int8_bytes / self.float_bytes


def symmetric_weight_scales(weight: np.ndarray) -> np.ndarray:
    """Per-output-channel symmetric scales ``max|W_c| / 127`` (the reference formula)."""
    flat = np.abs(weight.reshape(weight.shape[0], -1)).max(axis=1)
    return flat / 127.0


def _batches(images: np.ndarray, batch: int) -> Iterator[np.ndarray]:
    for start in range(0, len(images), batch):
        yield np.ascontiguousarray(images[start : start + batch], dtype=np.float32)


def _reader(input_name: str, images: np.ndarray, batch: int) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._feeds = ({input_name: b} for b in _batches(images, batch))

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    return _Reader()


def _input_name(path: Path) -> str:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # a truncated or foreign file
        raise RoadmapError(
            f"{path.name} is not a readable ONNX model ({type(exc).__name__}): export it again"
        ) from None
    initialisers = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        raise RoadmapError(f"{path.name} has {len(inputs)} inputs; INT8 calibration needs one")
    return inputs[0]


def _preprocess(src: Path, dst: Path) -> None:
    """ONNX shape inference + ORT graph optimisation (BatchNorm folding) before quantisation.

    Symbolic shape inference (for transformer graphs) is skipped: convolutional graphs need
    only ONNX's own, and when it fails on an op it does not know it dumps a model into the
    working directory.
    """
    from onnxruntime.quantization import quant_pre_process

    quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)


def quantize_int8(
    src: Path,
    dst: Path,
    calibration: np.ndarray,
    batch: int = 8,
    method: str = "minmax",
    per_channel: bool = True,
    op_types: tuple[str, ...] | None = None,
) -> QuantReport:
    """Quantise ``src`` (float ONNX) into ``dst`` (INT8 QDQ), calibrated on ``calibration``.

    ``calibration`` is an (N, C, H, W) float32 array of real inputs. ``dst`` appears only
    when the quantised file is complete (written in a temporary folder, then renamed).
    ``op_types``: quantise only these ONNX ops (None: every op the quantiser supports).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if method not in METHODS:
        raise RoadmapError(f"unknown calibration method {method!r}; choose from {METHODS}")
    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise RoadmapError(f"{src} does not exist: export the float model first")
    if len(calibration) == 0:
        raise RoadmapError("INT8 calibration needs at least one image")
    name = _input_name(src)
    calibrate = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[method]
    start = time.perf_counter()
    dst.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".int8-", dir=dst.parent) as tmp:
        prepared, out = Path(tmp) / "prepared.onnx", Path(tmp) / dst.name
        _preprocess(src, prepared)
        root = logging.getLogger()  # the quantiser warns on the root logger about 1-D constants
        level, root.level = root.level, logging.ERROR
        try:
            quantize_static(
                str(prepared),
                str(out),
                _reader(name, calibration, batch),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                calibrate_method=calibrate,
                op_types_to_quantize=list(op_types) if op_types else None,
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
        finally:
            root.setLevel(level)
        os.replace(out, dst)
    return QuantReport(
        path=dst,
        float_bytes=src.stat().st_size,
        int8_bytes=dst.stat().st_size,
        calibration_images=len(calibration),
        method=method,
        per_channel=per_channel,
        seconds=time.perf_counter() - start,
    )


def weight_scales(path: Path) -> dict[str, np.ndarray]:
    """The per-channel scales the QDQ file stores for each quantised weight, by weight name."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    values = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    scales = {}
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in values:
            quantised = values[node.input[0]]
            if quantised.dtype == np.int8 and quantised.ndim >= 2:
                scales[node.input[0]] = np.asarray(values[node.input[1]], dtype=np.float64)
    return scales
