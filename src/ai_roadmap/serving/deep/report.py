"""The figures of ``s5.serving``: metrics per cell, the issue's bars, the table and the plot."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ai_roadmap.serving.deep.bench import Cell, markdown
from ai_roadmap.serving.deep.checks import Check


def cell_metrics(cells: list[Cell]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for cell in cells:
        metrics |= {
            f"rps_{cell.key}": cell.rps,
            f"p50_ms_{cell.key}": cell.p50_ms,
            f"p99_ms_{cell.key}": cell.p99_ms,
            f"errors_{cell.key}": float(cell.errors),
        }
        if cell.server == "roadmap" and cell.batched:
            metrics[f"mean_batch_{cell.key}"] = cell.mean_batch_size
    return metrics


def bar_figures(
    bars: Any, runtimes: list[str], protocols: list[str], metrics: dict[str, float]
) -> tuple[dict[str, float], list[str]]:
    """Batching gain and P99 ratio at the bars' concurrency for every protocol × runtime."""
    n = bars.at_concurrency
    found: dict[str, float] = {}
    notes = []
    missed = 0
    for runtime in runtimes:
        for protocol in protocols:
            on, off = f"{protocol}_{runtime}_batched_c{n}", f"{protocol}_{runtime}_unbatched_c{n}"
            if f"rps_{on}" not in metrics or f"rps_{off}" not in metrics:
                continue
            gain = metrics[f"rps_{on}"] / metrics[f"rps_{off}"]
            ratio = metrics[f"p99_ms_{on}"] / metrics[f"p99_ms_{off}"]
            found[f"batching_gain_{protocol}_{runtime}_c{n}"] = gain
            found[f"p99_ratio_{protocol}_{runtime}_c{n}"] = ratio
            ok = gain >= bars.batched_gain and ratio <= bars.p99_ratio
            missed += not ok
            notes.append(
                f"bar, {protocol} {runtime} at {n} clients: batched "
                f"{metrics[f'rps_{on}']:.0f}/s vs unbatched {metrics[f'rps_{off}']:.0f}/s = "
                f"{gain:.2f}× (bar ≥ {bars.batched_gain:g}×), P99 {metrics[f'p99_ms_{on}']:.1f} vs "
                f"{metrics[f'p99_ms_{off}']:.1f} ms = {ratio:.2f}× (bar ≤ {bars.p99_ratio:g}×): "
                f"{'meets' if ok else 'misses'} it"
            )
    for key in [k for k in metrics if k.startswith("onnx_gain_batch1_")]:
        ok = metrics[key] >= bars.onnx_gain_batch1
        missed += not ok
        notes.append(
            f"bar, ORT ≥ {bars.onnx_gain_batch1:g}× eager at batch 1 ({key.split('_')[-1]}): "
            f"{metrics[key]:.2f}×: {'meets' if ok else 'misses'} it"
        )
    found["bars_missed"] = float(missed)
    return found, notes


def plot(cells: list[Cell], path: Path) -> Path:
    from ai_roadmap.plots import figure

    with figure(path, 1, 2, figsize=(11.0, 4.2)) as (_, (left, right)):
        series: dict[str, list[Cell]] = {}
        for cell in cells:
            label = (
                cell.server
                if cell.server == "litserve"
                else (
                    f"{cell.protocol} {cell.runtime} {'batched' if cell.batched else 'unbatched'}"
                )
            )
            series.setdefault(label, []).append(cell)
        for label, rows in series.items():
            xs = [r.concurrency for r in rows]
            style = "-" if "unbatched" not in label else "--"
            left.plot(xs, [r.rps for r in rows], style, marker="o", label=label)
            right.plot(xs, [r.p99_ms for r in rows], style, marker="o", label=label)
        for ax, what in ((left, "predictions / s"), (right, "P99 latency, ms")):
            ax.set(xscale="log", xlabel="concurrent clients", ylabel=what)
            ax.set_xticks(sorted({c.concurrency for c in cells}))
            ax.set_xticklabels([str(x) for x in sorted({c.concurrency for c in cells})])
        right.set_yscale("log")
        left.legend(fontsize=7)
    return path


def write_artefacts(
    out: Path, cells: list[Cell], found: list[Check], metrics: dict[str, float], config: Any
) -> dict[str, Path]:
    """``serving.json`` (machine, config, cells, checks, metrics), ``serving.md``, the plot."""

    payload = {
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
        },
        "config": asdict(config),
        "cells": [asdict(x) | {"key": x.key} for x in cells],
        "checks": [asdict(x) for x in found],
        "metrics": metrics,
    }
    (out / "serving.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    table = "# s5.serving\n\n" + markdown(cells) + "\n## checks\n\n"
    table += "".join(f"- {'pass' if x.passed else 'FAIL'} `{x.name}`: {x.detail}\n" for x in found)
    (out / "serving.md").write_text(table)
    return {
        "serving.json": out / "serving.json",
        "serving.md": out / "serving.md",
        "serving.png": plot(cells, out / "serving.png"),
    }
