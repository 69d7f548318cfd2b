"""s4.deploy — the stage-4 vision models exported to ONNX, run by ONNX Runtime (FP32 and
static INT8), timed side by side with eager PyTorch, and TensorRT FP16 where a GPU is.

``run(cfg)``, for each registered model (``s4.detect``, ``s4.segment``):

1. take the registry champion and turn it into one graph (:mod:`ai_roadmap.vision.deployable`);
2. export it to ONNX with a dynamic batch (:func:`ai_roadmap.deploy.export.export_onnx`) and
   check the *file* in a fresh process against eager PyTorch (max |Δ| relative to the
   output's range);
3. quantise it to INT8, static, calibrated on scenes of the training stamps
   (:func:`ai_roadmap.deploy.quantize.quantize_int8`);
4. time eager, ONNX Runtime FP32 and INT8 at batch 1 and 8, interleaved round by round with
   the same thread count (:func:`ai_roadmap.deploy.speed.side_by_side`);
5. score eager, FP32 and INT8 outputs on scenes of the test stamps (mAP50 / mIoU) — the
   accuracy quantisation costs.

The target (TensorRT FP16 ≥ 3× eager FP32) needs an NVIDIA GPU with TensorRT: without one
its figure is ``not measured`` and the CPU bars are reported beside it (ONNX Runtime ≥ 1.3×
eager at batch 1). ``benchmarks/gpu_deploy.sh`` is the GPU run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.errors import UsageError
from ai_roadmap.result import Result

ORT_BAR = 1.3  # ONNX Runtime vs eager at batch 1, CPU (the bar)


@dataclass(frozen=True)
class Config:
    models: list[str] = field(default_factory=lambda: ["s4.detect", "s4.segment"])
    threads: int = 1  # intra-op threads for every runtime alike
    batches: list[int] = field(default_factory=lambda: [1, 8])
    calibration_images: int = 64  # INT8 calibration scenes (training stamps)
    eval_images: int = 100  # scenes of the test stamps scored by every runtime
    rounds: int = 6  # latency: interleaved rounds ...
    calls: int = 5  # ... of this many timed calls per runtime
    tolerance: float = 1e-4  # fresh-process ONNX vs eager, relative to the output's range
    max_accuracy_drop: float = 0.05  # INT8 vs FP32 (mAP50 or mIoU points) counted as a check
    tensorrt: bool = True  # build and time a TensorRT FP16 engine where a GPU and TensorRT are
    model_dirs: dict[str, str] = field(default_factory=dict)  # detect/segment → a model folder
    seed: int = 0
    output_dir: str = "."

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in ("s4.detect", "s4.segment")]
        if unknown or not self.models:
            raise ValueError("models must be a non-empty list of s4.detect and s4.segment")
        if not self.batches or min(self.batches) < 1 or 1 not in self.batches:
            raise ValueError("batches must hold 1 (the bar) and positive sizes")


@dataclass
class ModelRun:
    item: str
    metric: str
    metrics: dict[str, float]
    records: list[CheckRecord]
    rows: list[Any]


def _champion(item: str, out: Path, given: dict[str, str]) -> Path:
    short = item.removeprefix("s4.")
    if short in given:  # a model folder named by the user (e.g. on a GPU machine without MLflow)
        folder = Path(given[short]).expanduser()
        if not folder.is_dir():
            raise UsageError(f"model_dirs.{short}: {folder} is not a model folder")
        return folder
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    folder, _ = champion_model_dir(get_settings(), item, out / "models" / item)
    return folder


def _outputs(run: Any, inputs: np.ndarray, batch: int = 8) -> np.ndarray:
    parts = []
    for start in range(0, len(inputs), batch):
        out = run(np.ascontiguousarray(inputs[start : start + batch]))
        out = out[0] if isinstance(out, list) else out
        parts.append(out.numpy() if isinstance(out, torch.Tensor) else np.asarray(out))
    return np.concatenate(parts)


def deploy_one(c: Config, item: str, out: Path) -> ModelRun:
    from ai_roadmap.deploy.export import export_onnx, quiet_toolchain
    from ai_roadmap.deploy.quantize import quantize_int8
    from ai_roadmap.deploy.speed import eager_runner, ort_runner, side_by_side, speedup
    from ai_roadmap.deploy.verify import run_in_fresh_process
    from ai_roadmap.vision.deployable import load_deployable, scene_splits

    model = load_deployable(item, _champion(item, out, c.model_dirs))
    scenes = scene_splits(model.classes, model.size, c.calibration_images, c.eval_images, c.seed)
    calibration = model.prepare(scenes["train"].images)
    evaluation = model.prepare(scenes["test"].images)
    name = item.removeprefix("s4.")
    fp32, int8 = out / f"{name}.onnx", out / f"{name}.int8.onnx"
    with quiet_toolchain():
        export_onnx(model.graph, torch.from_numpy(evaluation[:2]), fp32)
    quant = quantize_int8(fp32, int8, calibration, op_types=model.quantize_ops)
    fresh = run_in_fresh_process("onnx", fp32, evaluation[:8], threads=c.threads, repeats=3)
    with torch.inference_mode():
        reference = model.graph(torch.from_numpy(evaluation[:8])).numpy()
    relative = float(np.abs(fresh.outputs - reference).max() / (np.abs(reference).max() + 1e-12))
    runners = {
        "eager": eager_runner(model.graph, c.threads),
        "onnxruntime": ort_runner(fp32, c.threads),
        "onnxruntime-int8": ort_runner(int8, c.threads),
    }
    rows = side_by_side(
        runners, {b: evaluation[:b] for b in c.batches}, rounds=c.rounds, calls=c.calls
    )
    scores = {k: model.score(_outputs(r, evaluation), scenes["test"]) for k, r in runners.items()}
    m = {
        f"{name}_ort_speedup_b{b}": speedup(rows, "eager", "onnxruntime", b) for b in c.batches
    } | {
        f"{name}_int8_speedup_b{b}": speedup(rows, "eager", "onnxruntime-int8", b)
        for b in c.batches
    }
    m |= {f"{name}_{r.runtime.replace('-', '_')}_ms_b{r.batch}": r.median_ms for r in rows}
    m |= {f"{name}_{model.metric}_{k.replace('-', '_')}": v for k, v in scores.items()}
    m[f"{name}_int8_{model.metric}_drop"] = scores["onnxruntime"] - scores["onnxruntime-int8"]
    m[f"{name}_onnx_mb"] = fp32.stat().st_size / 2**20
    m[f"{name}_int8_mb"] = int8.stat().st_size / 2**20
    m[f"{name}_onnx_relative_diff"] = relative
    records = [
        record(f"{name}_onnx_file_equals_eager", relative, c.tolerance, "fresh process, batch 8"),
        record(
            f"{name}_onnx_{model.metric}_equals_eager",
            abs(scores["onnxruntime"] - scores["eager"]),
            0.005,
            f"{len(evaluation)} test scenes",
        ),
        record(
            f"{name}_int8_{model.metric}_drop",
            max(0.0, m[f"{name}_int8_{model.metric}_drop"]),
            c.max_accuracy_drop,
            f"calibrated on {quant.calibration_images} training scenes, {quant.method}",
        ),
    ]
    if c.tensorrt and tensorrt_status() is None:
        trt_metrics, trt_rows = _tensorrt(c, model, fp32, evaluation, scenes["test"], name)
        m |= trt_metrics
        rows = rows + trt_rows
    return ModelRun(item, model.metric, m, records, rows)


def _tensorrt(
    c: Config, model: Any, fp32: Path, evaluation: np.ndarray, test: Any, name: str
) -> tuple[dict[str, float], list[Any]]:
    """Eager FP32 on the GPU vs a TensorRT FP16 engine: latency side by side and accuracy."""
    import copy

    from ai_roadmap.deploy.speed import side_by_side, speedup
    from ai_roadmap.deploy.tensorrt import build_engine, cuda_eager_runner, trt_runner

    plan = build_engine(fp32, tuple(evaluation.shape), max(c.batches))
    runners = {
        "eager-cuda-fp32": cuda_eager_runner(copy.deepcopy(model.graph)),
        "tensorrt-fp16": trt_runner(plan),
    }
    rows = side_by_side(
        runners, {b: evaluation[:b] for b in c.batches}, rounds=c.rounds, calls=c.calls
    )
    scores = {k: model.score(_outputs(r, evaluation), test) for k, r in runners.items()}
    m = {
        f"{name}_trt_fp16_speedup_b{b}": speedup(rows, "eager-cuda-fp32", "tensorrt-fp16", b)
        for b in c.batches
    }
    m |= {f"{name}_{r.runtime.replace('-', '_')}_ms_b{r.batch}": r.median_ms for r in rows}
    m[f"{name}_trt_fp16_{model.metric}"] = scores["tensorrt-fp16"]
    m[f"{name}_trt_fp16_{model.metric}_drop"] = scores["eager-cuda-fp32"] - scores["tensorrt-fp16"]
    return m, rows


def tensorrt_status() -> str | None:
    """``None`` when the TensorRT FP16 engine can be built here, else why not (one line)."""
    from ai_roadmap.deploy.tensorrt import unavailable

    return unavailable()


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if c.threads < 1:
        raise UsageError("threads must be ≥ 1: every runtime gets the same number")
    runs = [deploy_one(c, item, out) for item in c.models]
    records = [r for run_ in runs for r in run_.records]
    check_metrics, check_notes = summarise(records)
    metrics: dict[str, float] = {k: v for run_ in runs for k, v in run_.metrics.items()}
    missed = [k for k in metrics if k.endswith("_ort_speedup_b1") and metrics[k] < ORT_BAR]
    metrics |= check_metrics | {"ort_bars_missed": float(len(missed))}
    why = tensorrt_status() if c.tensorrt else "switched off (tensorrt=false)"
    trt = [k for k in metrics if k.endswith("_trt_fp16_speedup_b1")]
    if why is None and trt:
        metrics["speedup"] = min(metrics[k] for k in trt)  # the slowest model's gain is the bar's
    artifacts = {"checks.csv": write_table(records, out / "checks.csv")}
    artifacts |= {p.stem: p for p in sorted(out.glob("*.onnx"))}
    return Result(
        metrics=metrics,
        dataset="composite stamp scenes (calibration: training stamps; scoring: test stamps)",
        artifacts=artifacts,
        notes=_notes(c, runs, missed) + check_notes,
        not_measured=None if "speedup" in metrics else f"TensorRT FP16 speed-up: {why}",
    )


def _notes(c: Config, runs: list[ModelRun], missed: list[str]) -> list[str]:
    notes = [
        f"latency: median of {c.rounds} interleaved rounds × {c.calls} calls per runtime, "
        f"{c.threads} intra-op thread(s) each, on {_cpu()}; speed-up = eager ÷ runtime",
        f"ONNX Runtime ≥ {ORT_BAR}× eager at batch 1 (the CPU bar): "
        + ("met by every model" if not missed else f"missed by {', '.join(missed)}"),
    ]
    for r in runs:
        cells = ", ".join(f"{row.runtime} b{row.batch} {row.median_ms:.2f} ms" for row in r.rows)
        notes.append(f"{r.item}: {cells}")
    return notes


def _cpu() -> str:
    from ai_roadmap.deploy.speed import cpu_description

    return cpu_description()
