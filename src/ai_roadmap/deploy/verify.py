"""Load one exported model in a fresh Python process, run it on a batch and time it.

An export is only trustworthy if the *file* reproduces the model, so the check
must not borrow anything from the process that wrote it (the traced module, the
compiled graph, the weights still in memory). :func:`run_in_fresh_process`
therefore starts ``python -m ai_roadmap.deploy.verify`` with nothing but
the file path and the input batch (a ``.npy`` file), and reads back the outputs
(another ``.npy``) and a small JSON record. That child process imports only the
runtime of its format:

* ``torchscript`` — ``torch.jit.mobile._load_for_lite_interpreter`` (the lite
  interpreter that PyTorch Android's ``LiteModuleLoader`` embeds) on a ``.ptl``;
* ``executorch``  — ``executorch.runtime.Runtime`` (the C++ runtime with the
  XNNPACK delegate compiled in, as in the Android AAR) on a ``.pte``, which
  takes one image at a time;
* ``onnx``        — ``onnxruntime.InferenceSession`` with ``CPUExecutionProvider``
  on a ``.onnx``; this process never imports torch.

Latency is per image: batch 1 (the first image of the batch), ``threads`` intra-op
threads, ``warmup`` untimed calls, then the median of ``repeats`` timed calls,
in milliseconds (``time.perf_counter``). The median, not the mean, because on a
shared machine a few calls are delayed by other processes.

A file that cannot be loaded or run, and a child that crashes (a native runtime
can abort on a malformed file), become one :class:`RoadmapError` line in the
parent instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError

FORMATS = ("torchscript", "executorch", "onnx")
Runner = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FreshRun:
    """What the child process measured on one exported file."""

    outputs: np.ndarray  # (B, n_outputs) float32, the file's outputs on the whole batch
    latency_ms: float  # median per-image latency, batch 1
    threads: int  # intra-op threads the runtime used
    runtime: str  # runtime name and version


# ---------------------------------------------------------------- runners (child side)


def _torchscript_runner(path: Path, threads: int) -> tuple[Runner, int, str]:
    import torch
    from torch.jit.mobile import _load_for_lite_interpreter

    torch.set_num_threads(threads)
    module = _load_for_lite_interpreter(str(path))

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return module(torch.from_numpy(batch)).numpy()

    return run, torch.get_num_threads(), f"torch {torch.__version__} lite interpreter"


def _executorch_runner(path: Path, threads: int) -> tuple[Runner, int, str]:
    from importlib.metadata import version

    import torch
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime

    # The XNNPACK thread pool is process-wide; size it before any program loads.
    portable_lib._unsafe_reset_threadpool(threads)
    method = Runtime.get().load_program(path).load_method("forward")
    if method is None:
        raise RuntimeError("the program has no 'forward' method")

    def run(batch: np.ndarray) -> np.ndarray:
        # The program is planned for one image: (1, C, H, W) -> (1, classes), image by image.
        images = torch.from_numpy(batch).split(1)
        return np.concatenate([method.execute([image])[0].numpy() for image in images])

    used = portable_lib._threadpool_get_thread_count()
    return run, used, f"executorch {version('executorch')} runtime (XNNPACK)"


def _onnx_runner(path: Path, threads: int) -> tuple[Runner, int, str]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {input_name: batch})[0]

    return run, threads, f"onnxruntime {ort.__version__} CPUExecutionProvider"


RUNNERS: dict[str, Callable[[Path, int], tuple[Runner, int, str]]] = {
    "torchscript": _torchscript_runner,
    "executorch": _executorch_runner,
    "onnx": _onnx_runner,
}


def median_latency_ms(run: Runner, image: np.ndarray, warmup: int, repeats: int) -> float:
    """Median wall time of ``run(image)`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        run(image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(image)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """Load, run on the batch, time batch 1; the JSON record for the parent."""
    batch = np.ascontiguousarray(np.load(args.inputs), dtype=np.float32)
    run, threads, runtime = RUNNERS[args.format](Path(args.model), args.threads)
    outputs = np.asarray(run(batch), dtype=np.float32)
    np.save(args.outputs, outputs)
    latency = median_latency_ms(run, batch[:1].copy(), args.warmup, args.repeats)
    return {"latency_ms": latency, "threads": threads, "runtime": runtime}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the child process; exit 0 with a record, 3 with an error record."""
    parser = argparse.ArgumentParser(prog="python -m ai_roadmap.deploy.verify")
    parser.add_argument("--format", choices=FORMATS, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--outputs", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    try:
        record, code = _child(args), 0
    except Exception as exc:  # any loader or runtime failure becomes one line
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        record, code = {"error": f"{type(exc).__name__}: {message}"}, 3
    Path(args.record).write_text(json.dumps(record))
    return code


# ---------------------------------------------------------------- parent side


def _child_command(
    fmt: str, path: Path, scratch: Path, threads: int, warmup: int, repeats: int
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ai_roadmap.deploy.verify",
        f"--format={fmt}",
        f"--model={path}",
        f"--inputs={scratch / 'inputs.npy'}",
        f"--outputs={scratch / 'outputs.npy'}",
        f"--record={scratch / 'record.json'}",
        f"--threads={threads}",
        f"--warmup={warmup}",
        f"--repeats={repeats}",
    ]


def _child_env() -> dict[str, str]:
    """This environment, with the folder holding ``ai_roadmap`` first on the child's path."""
    package_root = str(Path(__file__).resolve().parents[2])  # .../src for .../src/ai_roadmap/deep
    inherited = os.environ.get("PYTHONPATH")
    path = package_root if not inherited else os.pathsep.join([package_root, inherited])
    return dict(os.environ, PYTHONPATH=path)


def run_in_fresh_process(
    fmt: str,
    path: Path,
    batch: np.ndarray,
    threads: int = 1,
    warmup: int = 5,
    repeats: int = 30,
    timeout_s: float = 600.0,
) -> FreshRun:
    """Run the exported file ``path`` on ``batch`` in a new interpreter; see the module doc."""
    if fmt not in FORMATS:
        raise RoadmapError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise RoadmapError(f"{fmt} export {path} is missing or empty: export the model again")
    with tempfile.TemporaryDirectory(prefix="export-verify-") as tmp:
        scratch = Path(tmp)
        np.save(scratch / "inputs.npy", np.ascontiguousarray(batch, dtype=np.float32))
        command = _child_command(fmt, path.resolve(), scratch, threads, warmup, repeats)
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, env=_child_env()
            )
        except subprocess.TimeoutExpired:
            raise RoadmapError(
                f"{fmt} export {path.name} did not finish in {timeout_s:.0f} s"
            ) from None
        record_path = scratch / "record.json"
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
        if done.returncode != 0 or "error" in record:
            raise RoadmapError(_failure_line(fmt, path, done, record))
        outputs = np.load(scratch / "outputs.npy")
    return FreshRun(outputs, float(record["latency_ms"]), int(record["threads"]), record["runtime"])


def _failure_line(
    fmt: str, path: Path, done: subprocess.CompletedProcess[str], record: dict[str, Any]
) -> str:
    """One line saying why the child could not run ``path``."""
    if record.get("error", "").startswith("ModuleNotFoundError"):
        return f"the {fmt} runtime is not installed ({record['error']}); pip install the project"
    if "error" in record:
        why = record["error"]
    elif done.returncode < 0:
        why = f"the runtime crashed (signal {-done.returncode})"
    else:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1].strip()[:300] if lines else f"exit code {done.returncode}"
    return f"{fmt} export {path.name} is broken or unreadable ({why}); export the model again"


if __name__ == "__main__":
    sys.exit(main())
