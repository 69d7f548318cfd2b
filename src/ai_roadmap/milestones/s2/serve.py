"""s2.serve — the registry's champions behind Gunicorn under load, and what their image weighs.

1. Export the ``@champion`` models into a private folder (what ``roadmap serve
   --export-only`` writes before ``docker build``).
2. Build the serving environment the way the Dockerfile's builder stage does
   (:mod:`ai_roadmap.serving.venv`): a fresh venv with only the ``serve`` extra
   and the project (``--no-deps``), then pruned. Docker cannot run here, so the
   image size is an estimate:

       image_size_mb = serving_venv_mb + models_mb + base_image_mb

   with ``serving_venv_mb`` and ``models_mb`` measured (``du``-style, MiB) and
   ``base_image_mb`` the configured size of ``python:3.11-slim``.
3. Load-test the service (:mod:`ai_roadmap.serving.loadtest`) from that venv's
   interpreter, so the figures are those of the image's environment, and set the
   issue's bar (single predictions at 2 workers) beside what was measured.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from ai_roadmap.artifacts import read_card
from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.result import Result
from ai_roadmap.serving.loadtest import LoadTestOptions
from ai_roadmap.serving.venv import (
    build_serving_venv,
    directory_size_mb,
    project_root,
    serve_requirements,
)


@dataclass(frozen=True)
class VenvConfig:
    """Whether to build the serving venv, and the stated size of the base image."""

    build: bool
    base_image_mb: float
    base_image_source: str


@dataclass(frozen=True)
class Bars:
    """The issue's bar for single predictions at 2 workers."""

    rps_single_2w: float
    p99_ms_single_2w: float


@dataclass(frozen=True)
class ImageConfig:
    """Whether to build and run the real image (mmdebstrap + buildah; see serving.image)."""

    build: bool = False


@dataclass(frozen=True)
class Config:
    """conf/s2.serve: the models served, the load test, the venv, the image and the bar."""

    models: tuple[str, ...]  # served names (ai_roadmap.serving.SERVED_MODELS)
    loadtest: LoadTestOptions
    venv: VenvConfig
    bars: Bars
    seed: int = 0
    image: ImageConfig = field(default_factory=ImageConfig)


def bar_note(metrics: dict[str, float], bars: Bars) -> str | None:
    """The issue's bar for single predictions at 2 workers, against what was measured."""
    if "rps_single_2w" not in metrics:
        return None
    rps, p99 = metrics["rps_single_2w"], metrics["p99_ms_single_2w"]
    errors = metrics["errors_single_2w"]
    ok = rps >= bars.rps_single_2w and p99 <= bars.p99_ms_single_2w and errors == 0
    note = (
        f"bar (issue s2.serve): >= {bars.rps_single_2w:g} single predictions/s with "
        f"P99 <= {bars.p99_ms_single_2w:g} ms and 0 errors at 2 workers; measured "
        f"{rps:.0f}/s, P99 {p99:.1f} ms, {errors:.0f} errors: {'meets' if ok else 'misses'} it"
    )
    if "rps_single_close_2w" in metrics:
        rps_close, p99_close = metrics["rps_single_close_2w"], metrics["p99_ms_single_close_2w"]
        note += (
            " (a new connection per request, spread over both workers: "
            f"{rps_close:.0f}/s, P99 {p99_close:.1f} ms)"
        )
    return note + "."


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The load test's rows as a Markdown table (``loadtest.md``)."""
    columns = ["scenario", "workers", "batch_size", "connections", "keep_alive", "rps"]
    columns += ["records_per_s"]
    columns += ["p50_ms", "p99_ms", "errors", "requests", "duration_s", "busiest_worker_share"]
    columns += ["generator_cores"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(cfg: DictConfig) -> Result:
    from omegaconf import OmegaConf

    from ai_roadmap.serving.export import export_champions
    from ai_roadmap.serving.loadtest import as_rows, load_metrics, run_load_test
    from ai_roadmap.settings import get_settings

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = get_settings().model_copy(
        update={"serve_model_dir": out / "models", "serve_models": ",".join(c.models)}
    )
    versions = export_champions(settings, list(c.models))
    models_mb = directory_size_mb(settings.model_dir)
    metrics: dict[str, float] = {"models_mb": models_mb}
    notes: list[str] = []
    params: dict[str, Any] = {"versions": versions}
    with tempfile.TemporaryDirectory(prefix="roadmap-servevenv-") as scratch:
        python = None
        if c.venv.build:
            python, venv_metrics, venv_notes, params["venv"] = _measure_venv(
                Path(scratch), models_mb, c.venv
            )
            metrics |= venv_metrics
            notes += venv_notes
        if c.image.build:
            image_metrics, image_notes, params["image"] = _measure_image(settings, c)
            metrics |= image_metrics
            notes = [n for n in notes if not n.startswith("image_size_mb")] + image_notes
        # other processes on the machine inflate latency: record how busy it was
        metrics["loadavg_1m_before"] = os.getloadavg()[0]
        run_info = run_load_test(settings, c.loadtest, python)
    rows = as_rows(run_info.results)
    metrics |= load_metrics(rows)
    metrics |= {f"ready_s_{w}w": s for w, s in run_info.ready_s.items()}
    notes += _load_notes(c, metrics, python is not None)
    written = {"config": OmegaConf.to_container(cfg.loadtest, resolve=True), "params": params}
    artifacts = _write_artefacts(out, cfg.scale, rows, run_info.probes, metrics, written)
    return Result(
        metrics=metrics,
        dataset="served: "
        + ", ".join(f"{n} v{v}" for n, v in versions.items())
        + " (MLflow @champion); load: one fixed request body per model",
        proxy=False,
        artifacts=artifacts,
        params=params,
        notes=notes,
        not_measured=None
        if c.venv.build
        else f"image_size_mb: the {cfg.scale} scale does not build the serving venv "
        "(it installs the serve extra from the package registry); run --scale quick",
    )


def _measure_image(settings: Any, c: Config) -> tuple[dict[str, float], list[str], dict[str, Any]]:
    """Build the image on a locally made Debian base, run it, ask it; sizes from buildah."""
    from ai_roadmap.serving.image import measure_image
    from ai_roadmap.serving.loadtest import example_record
    from ai_roadmap.serving.server import free_port

    project = project_root()
    if project is None:
        raise RoadmapError("s2.serve builds the image from a source checkout; none found")
    first = c.models[0]
    card = read_card(settings.model_dir / first)
    requirements, _ = serve_requirements()
    report = measure_image(
        settings.home_dir / "containers",
        project,
        settings.model_dir,
        list(c.models),
        example_record(first, card.input_schema),
        requirements,
        free_port(),
    )
    ok = "probability" in report.prediction or "prediction" in report.prediction
    metrics = {
        "image_size_mb": report.image_mb,
        "base_image_mb": report.base_mb,
        "image_build_s": report.build_seconds,
        "base_build_s": report.base_seconds,
        "container_ready_s": report.ready_seconds,
        "container_prediction_ok": float(ok),
        "container_docs_ok": float(report.docs_ok),
    }
    base = "reused" if report.base_seconds == 0 else f"made in {report.base_seconds:.0f} s"
    notes = [
        f"image_size_mb {report.image_mb:.0f} measured (buildah images) on a base made here "
        f"({report.base}, {report.base_mb:.0f} MB, Debian bookworm essential + Python 3.11, "
        f"{base}); built in {report.build_seconds:.0f} s from the Dockerfile; the container "
        f"was ready in {report.ready_seconds:.1f} s, answered POST /v1/{first}/predict with "
        f"{report.prediction} and served /docs: {'yes' if report.docs_ok else 'no'}.",
    ]
    return metrics, notes, asdict(report)


def _measure_venv(
    scratch: Path, models_mb: float, venv_cfg: VenvConfig
) -> tuple[str, dict[str, float], list[str], dict[str, Any]]:
    project = project_root()
    if project is None:
        raise RoadmapError("s2.serve builds the serving venv from a source checkout; none found")
    requirements, source = serve_requirements()
    venv = build_serving_venv(scratch / "venv", requirements, project)
    venv_mb = directory_size_mb(venv)
    base_mb = venv_cfg.base_image_mb
    image_mb = venv_mb + models_mb + base_mb
    metrics = {"serving_venv_mb": venv_mb, "base_image_mb": base_mb, "image_size_mb": image_mb}
    notes = [
        f"image_size_mb {image_mb:.0f} is an estimate, not a built image (Docker cannot run "
        f"here): serving venv {venv_mb:.0f} MiB (pruned, du) + models {models_mb:.1f} MiB + "
        f"python:3.11-slim {base_mb:g} MB as configured (venv.base_image_mb: "
        f"{venv_cfg.base_image_source}).",
        f"serving venv from {source}; the load test ran in it, as the image would.",
    ]
    info = {"requirements": requirements, "source": source, "python": platform.python_version()}
    return str(venv / "bin" / "python"), metrics, notes, info


def _load_notes(c: Config, metrics: dict[str, float], in_venv: bool) -> list[str]:
    load = c.loadtest
    notes = [
        f"wrk -t{load.threads} -c{load.connections} (unless the scenario "
        f"sets -c) -d{load.duration_s:g}s per scenario (closed loop) on 127.0.0.1; the load "
        f"generator shares this machine's {os.cpu_count()} cores with the server "
        f"(1-minute load average before the test: {metrics['loadavg_1m_before']:.2f}).",
    ]
    if "generator_cores_single_2w" in metrics:
        notes.append(
            f"wrk itself used {metrics['generator_cores_single_2w']:.2f} of the "
            f"{os.cpu_count()} cores during the 2-worker single-prediction run (its CPU "
            "seconds per second): what the server had was the rest."
        )
    if not in_venv:
        notes.append("the server ran in this environment (the serving venv was not built).")
    bar = bar_note(metrics, c.bars)
    if bar:
        notes.append(bar)
    if "p99_ms_single_c1_2w" in metrics:
        notes.append(
            f"one connection at a time (no queue), 2 workers: P50 "
            f"{metrics['p50_ms_single_c1_2w']:.1f} ms, P99 {metrics['p99_ms_single_c1_2w']:.1f} "
            "ms per single prediction: the floor the model path sets."
        )
    if "rps_healthz_2w" in metrics:
        notes.append(
            f"GET /healthz at 2 workers: {metrics['rps_healthz_2w']:.0f}/s, the ceiling of "
            "the HTTP stack (middleware, JSON log line) with no model call."
        )
    return notes


def _write_artefacts(
    out: Path,
    scale: str,
    rows: list[dict[str, Any]],
    probes: dict[str, Any],
    metrics: dict[str, float],
    written: dict[str, Any],
) -> dict[str, Path]:
    """``loadtest.json`` (machine, ``written``'s config and params, rows, probes) and the table."""
    payload = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "config": written["config"],
        "rows": rows,
        "probes": probes,
        "metrics": metrics,
        "params": written["params"],
    }
    json_path = out / "loadtest.json"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    md_path = out / "loadtest.md"
    md_path.write_text(f"# s2.serve load test ({scale})\n\n" + markdown_table(rows))
    return {"loadtest.json": json_path, "loadtest.md": md_path}
