"""s2.metrics end to end at the smoke scale: every metric within 1e-12 of sklearn, files written."""

from __future__ import annotations

import csv
from pathlib import Path

from ai_roadmap.config import compose

METRICS = {
    "roc_auc",
    "roc_auc_trapezoid",
    "roc_curve",
    "pr_curve",
    "average_precision",
    "f1_binary",
    "f1_macro",
    "f1_micro",
    "confusion_matrix",
    "log_loss_binary",
    "log_loss_multiclass",
    "cross_entropy",
    "mae",
    "rmse",
    "rmsle",
}


def test_metrics_smoke_run(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.classic.metrics import run

    cfg = compose("s2.metrics", "smoke")
    out = tmp_path / "out"
    cfg.output_dir = str(out)
    result = run(cfg)

    assert result.metrics["max_abs_diff_vs_sklearn"] <= 1e-12  # the catalog target
    assert {f"diff_{name}" for name in METRICS} <= set(result.metrics)
    assert all(result.metrics[f"diff_{name}"] <= 1e-12 for name in METRICS)
    per_metric = int(cfg.compare.cases_per_metric)
    assert result.metrics["cases"] > per_metric * len(METRICS)  # random + edge cases
    assert result.dataset == "synthetic (seeded) + edge cases"
    assert result.proxy is False

    assert set(result.artifacts) == {"metrics_vs_sklearn.csv", "roc_pr_curves.png"}
    with Path(result.artifacts["metrics_vs_sklearn.csv"]).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["metric"] for row in rows} == METRICS
    assert all(
        int(row["random_cases"]) == per_metric and int(row["edge_cases"]) > 0 for row in rows
    )
    plot = Path(result.artifacts["roc_pr_curves.png"])
    assert plot.parent == out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 10_000
