"""s2.metrics end to end at the smoke scale (every metric within 1e-12 of sklearn, files written),
and ``roadmap check s2.metrics`` on our own metrics and on a learner's wrong one."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from ai_roadmap.checks import run_checks
from ai_roadmap.config import compose
from ai_roadmap.milestones.s2.metrics import CHECKS, run

MODULE = "ai_roadmap.milestones.s2.metrics"  # where CHECKS live
LIBRARY = "ai_roadmap.classic.metrics"  # our implementation, graded like a learner's
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


# ---------------------------------------------------------------- roadmap check s2.metrics


@pytest.mark.parametrize(
    "name", ["roc_auc_score", "average_precision_score", "f1_score", "log_loss",
             "mean_absolute_error", "root_mean_squared_error", "root_mean_squared_log_error"],
)  # fmt: skip
@pytest.mark.reference
def test_our_functions_pass_every_check(name: str) -> None:
    results = run_checks(MODULE, f"{LIBRARY}:{name}")
    assert len(results) == len(CHECKS) == 3
    for check, outcome in results:
        assert outcome.passed, f"{check.name}: {outcome.detail}"


def learner(tmp_path: Path, body: str, name: str) -> str:
    path = tmp_path / "learner.py"
    path.write_text("import numpy as np\n\n" + textwrap.dedent(body))
    return f"{path}:{name}"


@pytest.mark.reference
def test_an_auc_without_half_credit_for_ties_fails_the_edge_check(tmp_path: Path) -> None:
    spec = learner(
        tmp_path,
        """
        def roc_auc(y_true, y_score):
            y, s = np.asarray(y_true), np.asarray(y_score, dtype=float)
            if len(y) != len(s):
                raise ValueError("lengths differ")
            pos, neg = s[y == y.max()], s[y != y.max()]
            return float(np.mean(pos[:, None] > neg[None, :]))  # ties count 0, not 1/2
        """,
        "roc_auc",
    )
    outcomes = {check.name: outcome for check, outcome in run_checks(MODULE, spec)}
    edges = outcomes["edge cases (ties, 0/1 probabilities, zero division)"]
    assert not edges.passed
    assert edges.error is not None and edges.error > 0.1
    assert outcomes["rejects inputs of different lengths"].passed


@pytest.mark.reference
def test_an_unknown_function_name_is_reported(tmp_path: Path) -> None:
    spec = learner(tmp_path, "def my_metric(y_true, y_pred):\n    return 0.0\n", "my_metric")
    for _, outcome in run_checks(MODULE, spec):
        assert not outcome.passed
        assert "name your function" in outcome.detail
