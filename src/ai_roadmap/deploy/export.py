"""Export a trained image classifier for deployment, and prove each file reproduces it.

Three formats, one per runtime a mobile or server app would embed:

* **TorchScript lite** (``.ptl``): ``torch.jit.trace`` → ``optimize_for_mobile`` →
  ``_save_for_lite_interpreter``. Loaded on Android by PyTorch Android's
  ``LiteModuleLoader.load`` (``org.pytorch:pytorch_android_lite``). TorchScript is
  deprecated in torch 2.x in favour of ``torch.export`` and ExecuTorch; it is here
  because apps still ship it. ``optimize_for_mobile`` rewrites convolutions into
  XNNPACK prepacked ops and so needs a torch built with XNNPACK; the CPU wheel of
  torch 2.13.0 is not, and there the export falls back to ``torch.jit.freeze``,
  which performs the other rewrites that matter here (weights become constants,
  BatchNorm folded into the preceding convolution, dropout removed). The row's
  ``detail`` says which one ran.
* **ExecuTorch** (``.pte``): ``torch.export.export`` of one (1, C, H, W) image →
  ``to_edge_transform_and_lower(..., partitioner=[XnnpackPartitioner()])`` →
  ``to_executorch()``. The XNNPACK partitioner hands every subgraph it supports
  to the XNNPACK delegate; ``detail`` counts the nodes left outside it. The
  program's shapes are fixed at batch 1, what an app feeds it one frame at a
  time: ExecuTorch plans all memory ahead for the largest shape, and with torch
  2.13 a dynamic batch comes out of XNNPACK lowering capped at 15 anyway (a
  guard added by the convolution's shape rules), so the check runs it image by image.
* **ONNX** (``.onnx``): ``torch.onnx.export(..., dynamo=True)`` with a dynamic
  batch dimension, weights inside the file, run by onnxruntime.

BatchNorm folding. In eval mode ``BN(conv(x)) = γ (Wx + b − μ)/√(σ² + ε) + β``,
which is again a convolution with ``W' = W · γ/√(σ² + ε)`` (per output channel)
and ``b' = (b − μ) γ/√(σ² + ε) + β``. The exports compute with ``W'``, ``b'``, so
their outputs differ from eager by float32 rounding (≈ 1e-6 on logits), and the
check uses a tolerance of 1e-4 on ``max |f_file(x) − f_eager(x)|`` over a batch.

Each file is loaded in a fresh process (:mod:`ai_roadmap.deploy.verify`)
and compared with the eager model on the same batch; the report also gives the
top-1 agreement, the file size and the per-image CPU latency (batch 1, one
thread by default, median of repeats) of every runtime, eager included.
"""

from __future__ import annotations

import copy
import csv
import inspect
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ai_roadmap.deploy.verify import FORMATS, median_latency_ms, run_in_fresh_process
from ai_roadmap.errors import RoadmapError
from ai_roadmap.training.threads import torch_threads

TOLERANCE = 1e-4  # max |Δ logit| between an export and the eager model
SUFFIXES = {"torchscript": ".ptl", "executorch": ".pte", "onnx": ".onnx"}
ANDROID_NOTE = (
    "No Android device was available: the .pte and .ptl files were run with the same "
    "runtimes on the desktop CPU (executorch.runtime, the torch lite interpreter), not on "
    "a phone; docs/android.md shows how to run them in an app."
)


@dataclass(frozen=True)
class FormatReport:
    """One runtime's result: where the file is, how big, how close, how fast."""

    format: str  # "eager" | "torchscript" | "executorch" | "onnx"
    path: Path | None
    size_bytes: int
    max_abs_diff: float  # max |f_file(x) − f_eager(x)| over the batch
    top1_agreement: float  # fraction of images with the same argmax as eager
    latency_ms: float  # median per-image latency, batch 1
    threads: int
    passed: bool  # max_abs_diff ≤ tolerance (NaN never passes)
    runtime: str
    detail: str = ""


@dataclass(frozen=True)
class ExportReport:
    """All formats of one model, exported and checked on one batch."""

    name: str
    batch_shape: tuple[int, ...]
    tolerance: float
    rows: tuple[FormatReport, ...]

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    def row(self, fmt: str) -> FormatReport:
        for row in self.rows:
            if row.format == fmt:
                return row
        raise KeyError(fmt)

    def metrics(self) -> dict[str, float]:
        """``exports_failed`` and ``<format>_{max_abs_diff,latency_ms,size_bytes}`` for a Result."""
        out: dict[str, float] = {"exports_failed": float(sum(not r.passed for r in self.rows))}
        for r in self.rows:
            out |= {
                f"{r.format}_max_abs_diff": r.max_abs_diff,
                f"{r.format}_latency_ms": r.latency_ms,
                f"{r.format}_size_bytes": float(r.size_bytes),
            }
        return out

    def write_csv(self, path: Path) -> Path:
        """One line per format, the columns of :class:`FormatReport`."""
        with Path(path).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(FormatReport.__dataclass_fields__))
            writer.writeheader()
            writer.writerows(asdict(row) for row in self.rows)
        return Path(path)


def write_model_card(
    report: ExportReport,
    path: Path,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    classes: tuple[str, ...],
) -> Path:
    """The JSON an app needs beside the files: input layout, normalisation, classes, files.

    An app must feed x̂ = (pixel / 255 − mean_c) / std_c as float32 (1, C, H, W),
    channel planes one after the other (NCHW), and read the argmax of the logits.
    """
    channels, *spatial = report.batch_shape[1:]
    if len(mean) != channels or len(std) != channels:
        raise RoadmapError(f"mean/std need {channels} value(s), one per input channel")
    card = {
        "name": report.name,
        "input": {"shape": [1, channels, *spatial], "layout": "NCHW", "dtype": "float32"},
        "normalisation": {"formula": "(pixel / 255 - mean[c]) / std[c]", "mean": mean, "std": std},
        "output": {"kind": "logits", "classes": list(classes), "predict": "argmax"},
        "files": {
            row.format: {"file": row.path.name, "bytes": row.size_bytes, "runtime": row.runtime}
            for row in report.rows
            if row.path is not None
        },
    }
    Path(path).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return Path(path)


# ---------------------------------------------------------------- exporters


@contextmanager
def quiet_toolchain() -> Iterator[None]:
    """Hide the exporters' notices about themselves, not about the model.

    torchao (pulled in by ExecuTorch) logs that its CUDA-only kernels do not load
    on a CPU build, the ONNX exporter that torchvision is not installed (its ops
    are not used here), and torch.export warns about its own pytree internals.
    """
    names = ("torchao", "torch.utils._pytree", "torch.onnx._internal.exporter._registration")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*register_constant.*")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _export_sample(example: torch.Tensor) -> torch.Tensor:
    """A batch of at least 2, so that tracing/export cannot specialise the batch size to 1."""
    return example[:2] if example.shape[0] >= 2 else example.repeat(2, *[1] * (example.dim() - 1))


def _batch_dim(model: nn.Module) -> dict[str, dict[int, torch.export.Dim]]:
    """``dynamic_shapes`` keyed by the name of forward's first argument (what export expects)."""
    first_arg = next(iter(inspect.signature(model.forward).parameters))
    return {first_arg: {0: torch.export.Dim("batch")}}


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> str:
    """Trace, optimise for mobile (or freeze, see module doc), save for the lite interpreter."""
    from torch.utils.mobile_optimizer import optimize_for_mobile

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript's own deprecation
        traced = torch.jit.trace(model, _export_sample(example))
        try:
            optimised, how = optimize_for_mobile(traced), "optimize_for_mobile"
        except RuntimeError as exc:
            if "XNNPACK" not in str(exc):
                raise
            optimised = torch.jit.freeze(traced)
            how = "torch.jit.freeze (this torch has no XNNPACK for optimize_for_mobile)"
        optimised._save_for_lite_interpreter(str(path))
    return how


def export_executorch(model: nn.Module, example: torch.Tensor, path: Path) -> str:
    """torch.export (batch 1) → edge dialect lowered to XNNPACK → ExecuTorch program bytes."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.devtools.backend_debug import get_delegation_info
    from executorch.exir import to_edge_transform_and_lower

    exported = torch.export.export(model, (example[:1],))
    edge = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()])
    path.write_bytes(edge.to_executorch().buffer)
    info = get_delegation_info(edge.exported_program().graph_module)
    # getitem only unpacks the delegate's outputs; it is bookkeeping, not an operator.
    ops = {op: n for op, n in info.delegation_by_operator.items() if op != "getitem"}
    inside = sum(n.delegated for n in ops.values())
    outside = ", ".join(f"{op}×{n.non_delegated}" for op, n in ops.items() if n.non_delegated)
    subgraphs = info.num_delegated_subgraphs
    return f"{inside} ops in {subgraphs} XNNPACK subgraph(s); outside: {outside or 'none'}"


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> str:
    """The dynamo ONNX exporter, weights embedded in the one file."""
    import onnx

    torch.onnx.export(
        model,
        (_export_sample(example),),
        str(path),
        dynamo=True,
        external_data=False,
        dynamic_shapes=_batch_dim(model),
        verbose=False,
    )
    proto = onnx.load(str(path))
    return f"opset {proto.opset_import[0].version}, {len(proto.graph.node)} nodes"


EXPORTERS: dict[str, Callable[[nn.Module, torch.Tensor, Path], str]] = {
    "torchscript": export_torchscript,
    "executorch": export_executorch,
    "onnx": export_onnx,
}


# ---------------------------------------------------------------- checks


def compare(
    fmt: str, outputs: np.ndarray, reference: np.ndarray, tolerance: float = TOLERANCE
) -> tuple[float, float, bool]:
    """max |outputs − reference|, top-1 agreement, passed; a shape mismatch is an error."""
    if outputs.shape != reference.shape:
        raise RoadmapError(
            f"{fmt} export returns shape {outputs.shape}, the model {reference.shape}: "
            "export the model again"
        )
    diff = float(np.max(np.abs(outputs.astype(np.float64) - reference)))
    agreement = float(np.mean(outputs.argmax(axis=1) == reference.argmax(axis=1)))
    return diff, agreement, bool(diff <= tolerance)


def _eager_outputs(model: nn.Module, example: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        out = model(example)
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise RoadmapError("export expects a model that returns one (batch, classes) tensor")
    return out.double().numpy()


def verify_export(
    fmt: str,
    path: Path,
    model: nn.Module,
    example: torch.Tensor,
    tolerance: float = TOLERANCE,
    threads: int = 1,
    repeats: int = 30,
    detail: str = "",
) -> FormatReport:
    """Run ``path`` in a fresh process and compare it with ``model`` (eval mode) on ``example``."""
    was_training = model.training
    try:
        reference = _eager_outputs(model.eval(), example)
    finally:
        model.train(was_training)
    fresh = run_in_fresh_process(fmt, path, example.numpy(), threads=threads, repeats=repeats)
    diff, agreement, passed = compare(fmt, fresh.outputs, reference, tolerance)
    size = Path(path).stat().st_size
    return FormatReport(
        format=fmt,
        path=Path(path),
        size_bytes=size,
        max_abs_diff=diff,
        top1_agreement=agreement,
        latency_ms=fresh.latency_ms,
        threads=fresh.threads,
        passed=passed,
        runtime=fresh.runtime,
        detail=detail,
    )


def eager_report(
    model: nn.Module, example: torch.Tensor, checkpoint: Path, threads: int = 1, repeats: int = 30
) -> FormatReport:
    """The eager baseline: its state_dict file size and its per-image latency in this process."""
    torch.save(model.state_dict(), checkpoint)
    with torch_threads(threads), torch.no_grad():
        latency = median_latency_ms(
            lambda x: model(torch.from_numpy(x)), example[:1].numpy(), 5, repeats
        )
    runtime = f"torch {torch.__version__} eager"
    size = checkpoint.stat().st_size
    return FormatReport("eager", checkpoint, size, 0.0, 1.0, latency, threads, True, runtime)


def export_all(
    model: nn.Module,
    example: torch.Tensor,
    out_dir: Path,
    name: str,
    formats: tuple[str, ...] = FORMATS,
    tolerance: float = TOLERANCE,
    threads: int = 1,
    repeats: int = 30,
) -> ExportReport:
    """Export ``model`` to ``out_dir/name.{ptl,pte,onnx}`` and check each in a fresh process.

    ``example`` is a float32 batch (B, C, H, W) of real, normalised inputs
    (B ≥ 1); the model is exported and compared in eval mode and left in
    the mode it came in. Latency: batch 1, ``threads`` threads, median of ``repeats``.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise RoadmapError(f"unknown export format(s) {unknown}; choose from {list(FORMATS)}")
    if example.dtype != torch.float32 or example.dim() < 2 or len(example) == 0:
        raise RoadmapError("example must be a non-empty float32 batch (B, C, H, W)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).eval()  # the caller's model keeps its mode and weights
    # Apps feed plain NCHW tensors: a model trained channels-last would otherwise be
    # exported with layout copies around it (one left outside the XNNPACK delegate).
    model = model.to(memory_format=torch.contiguous_format)
    example = example.contiguous()
    rows = [eager_report(model, example, out_dir / f"{name}.pth", threads, repeats)]
    for fmt in formats:
        path = out_dir / f"{name}{SUFFIXES[fmt]}"
        with quiet_toolchain():
            detail = EXPORTERS[fmt](model, example, path)
        rows.append(verify_export(fmt, path, model, example, tolerance, threads, repeats, detail))
    return ExportReport(name, tuple(example.shape), tolerance, tuple(rows))
