"""Latency of several runtimes on the same inputs, measured side by side.

On a shared machine the speed of the CPU drifts from second to second (other
processes, frequency scaling), so timing eager PyTorch for a minute and then ONNX
Runtime for a minute compares two different machines. :func:`side_by_side`
interleaves them instead: each round times a few calls of every runtime, in an order
rotated from round to round, and the figure is the median over all rounds. The
ratio of two medians taken this way is what the milestones report as a speed-up.

Every runtime gets the same number of intra-op threads (``torch.set_num_threads``
for eager, ``intra_op_num_threads`` for ONNX Runtime) and the same batch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError

Runner = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class LatencyRow:
    """One runtime at one batch size."""

    runtime: str
    batch: int
    median_ms: float  # per call (the whole batch)
    p90_ms: float
    calls: int

    @property
    def per_image_ms(self) -> float:
        return self.median_ms / self.batch


def ort_runner(
    path: Path, threads: int, providers: tuple[str, ...] = ("CPUExecutionProvider",)
) -> Runner:
    """An ONNX Runtime session on ``path`` as a function of the input batch."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), options, providers=list(providers))
    except Exception as exc:
        raise RoadmapError(
            f"ONNX Runtime cannot load {Path(path).name} ({type(exc).__name__}): export it again"
        ) from None
    name = session.get_inputs()[0].name
    return lambda batch: session.run(None, {name: batch})


def eager_runner(model: Any, threads: int) -> Runner:
    """The eager PyTorch model (eval, no grad) as a function of a NumPy batch."""
    import torch

    torch.set_num_threads(threads)
    model.eval()

    def run(batch: np.ndarray) -> Any:
        with torch.inference_mode():
            return model(torch.from_numpy(batch))

    return run


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def side_by_side(
    runners: dict[str, Runner],
    inputs: dict[int, np.ndarray],
    rounds: int = 6,
    calls: int = 5,
    warmup: int = 3,
) -> list[LatencyRow]:
    """Median latency of every runner at every batch size, interleaved round by round."""
    if not runners or not inputs:
        raise RoadmapError("side_by_side needs at least one runtime and one batch size")
    rows = []
    names = list(runners)
    for batch, array in inputs.items():
        array = np.ascontiguousarray(array, dtype=np.float32)
        for name in names:
            for _ in range(warmup):
                runners[name](array)
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                for _ in range(calls):
                    start = time.perf_counter()
                    runners[name](array)
                    times[name].append(1e3 * (time.perf_counter() - start))
        for name in names:
            values = times[name]
            rows.append(
                LatencyRow(
                    name, batch, statistics.median(values), _percentile(values, 0.9), len(values)
                )
            )
    return rows


def speedup(rows: list[LatencyRow], slow: str, fast: str, batch: int) -> float:
    """median(slow) ÷ median(fast) at ``batch``."""
    by = {(r.runtime, r.batch): r.median_ms for r in rows}
    try:
        return by[(slow, batch)] / by[(fast, batch)]
    except KeyError:
        raise RoadmapError(f"no latency measured for {slow!r}/{fast!r} at batch {batch}") from None


INT8_FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_description() -> str:
    """The CPU's model name, its cores, and which int8-relevant instruction sets it has."""
    import os

    from ai_roadmap.machine import cpu_model_and_flags

    model, flags = cpu_model_and_flags()
    features = [f for f in INT8_FEATURES if f in flags] or ["none of " + "/".join(INT8_FEATURES)]
    return f"{model} ({os.cpu_count()} cores; {', '.join(features)})"
