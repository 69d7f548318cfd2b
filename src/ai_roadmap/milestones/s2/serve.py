"""s2.serve — the registry's champions behind Gunicorn under load, and what their image weighs.

1. Export the ``@champion`` models into a private folder (what ``roadmap serve
   --export-only`` writes before ``docker build``).
2. Build the serving environment the way the Dockerfile's builder stage does:
   a fresh venv with only the ``serve`` extra and the project (``--no-deps``),
   then pruned (:mod:`ai_roadmap.serving.venv`). Docker cannot run here, so the image size is an
   estimate:

       image_size_mb = serving_venv_mb + models_mb + base_image_mb

   with ``serving_venv_mb`` and ``models_mb`` measured (``du``-style, MiB) and
   ``base_image_mb`` the configured size of ``python:3.11-slim``.
3. Load-test the service (:mod:`ai_roadmap.serving.loadtest`) from that venv's
   interpreter, so the figures are those of the image's environment.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError
from ai_roadmap.result import Result
from ai_roadmap.serving.venv import (
    build_serving_venv,
    directory_size_mb,
    project_root,
    serve_requirements,
)

# ── the milestone ─────────────────────────────────────────────────────────────


def scenarios_from(cfg: Any) -> list[Any]:
    from ai_roadmap.serving.loadtest import Scenario

    model = str(cfg.loadtest.model)
    scenarios = []
    for spec in cfg.loadtest.scenarios:
        options = {
            "connections": spec.get("connections"),
            "keep_alive": spec.get("keep_alive", True),
        }
        for workers in spec.workers:
            scenarios.append(
                Scenario(str(spec.name), model, int(spec.batch_size), int(workers), **options)
            )
    return scenarios


def load_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``rps_<scenario>_<w>w``, ``p50_ms_…``, ``p99_ms_…``, ``errors_…``, and ``errors`` (sum)."""
    metrics: dict[str, float] = {"errors": float(sum(r["errors"] for r in rows))}
    for row in rows:
        key = f"{row['scenario']}_{row['workers']}w"
        for name in ("rps", "p50_ms", "p99_ms", "errors"):
            metrics[f"{name}_{key}"] = float(row[name])
        if row["workers"] > 1:
            metrics[f"busiest_worker_share_{key}"] = float(row["busiest_worker_share"])
        if row["batch_size"] > 1:
            metrics[f"records_per_s_{key}"] = float(row["records_per_s"])
    return metrics


def bar_note(metrics: dict[str, float], bars: Any) -> str | None:
    """The issue's bar for single predictions at 2 workers, against what was measured."""
    if "rps_single_2w" not in metrics:
        return None
    rps, p99 = metrics["rps_single_2w"], metrics["p99_ms_single_2w"]
    errors = metrics["errors_single_2w"]
    ok = rps >= float(bars.rps_single_2w) and p99 <= float(bars.p99_ms_single_2w) and errors == 0
    note = (
        f"bar (issue s2.serve): >= {float(bars.rps_single_2w):g} single predictions/s with "
        f"P99 <= {float(bars.p99_ms_single_2w):g} ms and 0 errors at 2 workers; measured "
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
    columns = ["scenario", "workers", "batch_size", "connections", "keep_alive", "rps"]
    columns += ["records_per_s"]
    columns += ["p50_ms", "p99_ms", "errors", "requests", "duration_s", "busiest_worker_share"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def load_test(cfg: Any, settings: Any, python: str | None = None) -> Any:
    """The configured scenarios against ``settings``' models, served by ``python``'s environment."""
    from ai_roadmap.serving.loadtest import run_load_test

    return run_load_test(
        settings,
        scenarios_from(cfg),
        float(cfg.loadtest.duration_s),
        int(cfg.loadtest.connections),
        int(cfg.loadtest.threads),
        float(cfg.loadtest.ready_timeout_s),
        python=python,
        extra_env={str(k): str(v) for k, v in cfg.loadtest.env.items()},
    )


def run(cfg: Any) -> Result:
    from ai_roadmap.serving.export import export_champions
    from ai_roadmap.serving.loadtest import as_rows
    from ai_roadmap.settings import get_settings

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = [str(m) for m in cfg.models]
    settings = get_settings().model_copy(
        update={"serve_model_dir": out / "models", "serve_models": ",".join(models)}
    )
    versions = export_champions(settings, models)
    models_mb = directory_size_mb(settings.model_dir)
    metrics: dict[str, float] = {"models_mb": models_mb}
    notes: list[str] = []
    params: dict[str, Any] = {"versions": versions}
    with tempfile.TemporaryDirectory(prefix="roadmap-servevenv-") as scratch:
        python = None
        if cfg.venv.build:
            python, venv_metrics, venv_notes, params["venv"] = _measure_venv(
                Path(scratch), models_mb, cfg.venv
            )
            metrics |= venv_metrics
            notes += venv_notes
        # other processes on the machine inflate latency: record how busy it was
        metrics["loadavg_1m_before"] = os.getloadavg()[0]
        run_info = load_test(cfg, settings, python)
    rows = as_rows(run_info.results)
    metrics |= load_metrics(rows)
    metrics |= {f"ready_s_{w}w": s for w, s in run_info.ready_s.items()}
    notes += _load_notes(cfg, metrics, python is not None)
    artifacts = _write_artefacts(out, rows, run_info.probes, metrics, params, cfg)
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
        if cfg.venv.build
        else f"image_size_mb: the {cfg.scale} scale does not build the serving venv "
        "(it installs the serve extra from the package registry); run --scale quick",
    )


def _measure_venv(
    scratch: Path, models_mb: float, venv_cfg: Any
) -> tuple[str, dict[str, float], list[str], dict[str, Any]]:
    project = project_root()
    if project is None:
        raise RoadmapError("s2.serve builds the serving venv from a source checkout; none found")
    requirements, source = serve_requirements()
    venv = build_serving_venv(scratch / "venv", requirements, project)
    venv_mb = directory_size_mb(venv)
    base_mb = float(venv_cfg.base_image_mb)
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


def _load_notes(cfg: Any, metrics: dict[str, float], in_venv: bool) -> list[str]:
    notes = [
        f"wrk -t{cfg.loadtest.threads} -c{cfg.loadtest.connections} (unless the scenario "
        f"sets -c) -d{cfg.loadtest.duration_s}s per scenario (closed loop) on 127.0.0.1; the load "
        f"generator shares this machine's {os.cpu_count()} cores with the server "
        f"(1-minute load average before the test: {metrics['loadavg_1m_before']:.2f}).",
    ]
    if not in_venv:
        notes.append("the server ran in this environment (the serving venv was not built).")
    bar = bar_note(metrics, cfg.bars)
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
    rows: list[dict[str, Any]],
    probes: dict[str, Any],
    metrics: dict[str, float],
    params: dict[str, Any],
    cfg: Any,
) -> dict[str, Path]:
    from omegaconf import OmegaConf

    payload = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "config": OmegaConf.to_container(cfg.loadtest, resolve=True),
        "rows": rows,
        "probes": probes,
        "metrics": metrics,
        "params": params,
    }
    json_path = out / "loadtest.json"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    md_path = out / "loadtest.md"
    md_path.write_text(f"# s2.serve load test ({cfg.scale})\n\n" + markdown_table(rows))
    return {"loadtest.json": json_path, "loadtest.md": md_path}
