"""s2.metrics — the from-scratch metrics against scikit-learn, and ``roadmap check`` on a learner's.

``run(cfg)`` compares every metric of :mod:`ai_roadmap.classic.metrics` with
``sklearn.metrics`` on ``compare.cases_per_metric`` seeded random inputs plus the
fixed edge cases of :mod:`ai_roadmap.classic.metric_reference`, writes the
per-metric maximum |ours − sklearn| to ``metrics_vs_sklearn.csv`` and draws our
ROC and PR curves over scikit-learn's on one seeded case. The target is
``max_abs_diff_vs_sklearn`` ≤ 1e-12.

``CHECKS`` let ``roadmap check s2.metrics --impl my_metrics.py:roc_auc_score``
grade a learner's own metric function on the same kinds of cases.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_roadmap.checks import Check, Outcome
from ai_roadmap.classic.metric_reference import (
    compare_all,
    comparisons,
    edge_cases,
    max_abs_diff,
    random_case,
)
from ai_roadmap.classic.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from ai_roadmap.config import typed
from ai_roadmap.plots import figure
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig


@dataclass(frozen=True)
class Compare:
    cases_per_metric: int  # seeded random inputs per metric (plus the fixed edge cases)
    max_samples: int  # each random input has n ~ U{2, …, max_samples} samples


@dataclass(frozen=True)
class Plot:
    samples: int  # at most this many samples in the case drawn as ROC / PR curves


@dataclass(frozen=True)
class Config:
    seed: int
    compare: Compare
    plot: Plot


# ---------------------------------------------------------------- roadmap check: a learner's metric

ADAPTER = (
    "A module-level function named after the metric it computes, called as "
    "fn(y_true, y_other) -> float: roc_auc_score (or roc_auc; y_other = scores), "
    "average_precision_score (pr_auc), f1_score (f1; binary labels, positive 1), "
    "log_loss (y_other = P(class 1)), mean_absolute_error (mae), root_mean_squared_error "
    "(rmse) or root_mean_squared_log_error (rmsle). Example: "
    "`roadmap check s2.metrics --impl my_metrics.py:roc_auc`."
)
LEARNER_NAMES = {
    **dict.fromkeys(("roc_auc", "roc_auc_score"), "roc_auc"),
    **dict.fromkeys(
        ("pr_auc", "average_precision", "average_precision_score"), "average_precision"
    ),
    **dict.fromkeys(("f1", "f1_score"), "f1_binary"),
    "log_loss": "log_loss_binary",
    **dict.fromkeys(("mae", "mean_absolute_error"), "mae"),
    **dict.fromkeys(("rmse", "root_mean_squared_error"), "rmse"),
    **dict.fromkeys(("rmsle", "root_mean_squared_log_error"), "rmsle"),
}
LEARNER_TOLERANCE = 1e-9


def _learner_metric(fn: Any) -> str:
    name = LEARNER_NAMES.get(getattr(fn, "__name__", ""))
    if name is None:
        raise ValueError(f"name your function one of {sorted(LEARNER_NAMES)} (see ADAPTER)")
    return name


def _compare_learner(fn: Any, inputs: list[tuple[tuple, dict]], what: str) -> Outcome:
    theirs = comparisons()[_learner_metric(fn)][2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        worst = max(max_abs_diff(fn(*args, **kw), theirs(*args, **kw)) for args, kw in inputs)
    return Outcome(
        worst <= LEARNER_TOLERANCE, worst, f"max |yours − sklearn| on {what}: {worst:.2e}"
    )


def check_random(fn: Any) -> Outcome:
    kind = comparisons()[_learner_metric(fn)][0]
    rng = np.random.default_rng(0)
    return _compare_learner(fn, [random_case(kind, rng, 200) for _ in range(50)], "50 random cases")


def check_edges(fn: Any) -> Outcome:
    name = _learner_metric(fn)
    inputs = [  # numeric labels only: the ADAPTER does not promise string labels
        (args, kw)
        for metric, args, kw in edge_cases()
        if metric == name and not kw and np.asarray(args[0]).dtype.kind not in "USO"
    ]
    return _compare_learner(fn, inputs, f"{len(inputs)} edge cases")


def check_length_mismatch(fn: Any) -> Outcome:
    (y, other), _ = random_case(comparisons()[_learner_metric(fn)][0], np.random.default_rng(1), 30)
    try:
        fn(y[:-1], other)
    except ValueError as exc:
        return Outcome(True, None, f"raised ValueError: {exc}")
    return Outcome(False, None, "inputs of different lengths did not raise ValueError")


CHECKS: list[Check] = [
    Check(
        "matches sklearn on random inputs",
        check_random,
        "compare with sklearn.metrics on one small input first; for AUC count ties as one half",
    ),
    Check(
        "edge cases (ties, 0/1 probabilities, zero division)",
        check_edges,
        "tied scores: ½ per tied pair (AUC) or one step (AP); clip probabilities to "
        "[eps, 1 − eps], eps = np.finfo(float).eps; F1 with no true nor predicted positives is 0",
    ),
    Check(
        "rejects inputs of different lengths",
        check_length_mismatch,
        "check len(y_true) == len(y_pred) and raise ValueError",
    ),
]


# ---------------------------------------------------------------- the milestone


def run(cfg: DictConfig) -> Result:
    """Compare every metric with scikit-learn on seeded random + edge cases; plot one case."""
    import sklearn

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    cases, samples = c.compare.cases_per_metric, c.compare.max_samples
    rows = compare_all(c.seed, cases, samples)
    table = out / "metrics_vs_sklearn.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    metrics = {f"diff_{row['metric']}": row["max_abs_diff"] for row in rows}
    metrics["max_abs_diff_vs_sklearn"] = max(metrics.values())
    metrics["cases"] = float(sum(row["random_cases"] + row["edge_cases"] for row in rows))
    curves = plot_curves(c.seed, c.plot.samples, out / "roc_pr_curves.png")
    return Result(
        metrics,
        dataset="synthetic (seeded) + edge cases",
        artifacts={"metrics_vs_sklearn.csv": table, "roc_pr_curves.png": curves},
        params={
            "sklearn_version": sklearn.__version__,
            "clip_eps_float64": float(np.finfo(float).eps),
            "cases_per_metric": cases,
            "max_samples": samples,
        },
        notes=[
            f"{len(rows)} metrics, each on {cases} seeded random inputs (seed {c.seed}, "
            f"n ≤ {samples}) plus fixed edge cases; per-metric figures in metrics_vs_sklearn.csv.",
            "log-loss clips probabilities to [eps, 1 − eps], eps = np.finfo(dtype).eps, "
            "as the installed scikit-learn does (2.22e-16 for float64).",
            "Deviation: ROC AUC with one class in y_true raises ValueError here; "
            "scikit-learn warns and returns NaN (not compared).",
        ],
    )


def plot_curves(seed: int, samples: int, path: Path) -> Path:
    """Our ROC and PR curves (lines) over scikit-learn's (markers) on one seeded case."""
    from sklearn import metrics as skm

    (y, s), _ = random_case("scores", np.random.default_rng(seed), samples)
    with figure(path, ncols=2, figsize=(10, 4.5)) as (fig, (left, right)):
        fpr, tpr, _ = roc_curve(y, s)
        sk_fpr, sk_tpr, _ = skm.roc_curve(y, s, drop_intermediate=False)
        left.plot(fpr, tpr, label=f"ours (AUC {roc_auc_score(y, s):.4f})")
        left.plot(sk_fpr, sk_tpr, "o", ms=3, mfc="none", label="sklearn roc_curve")
        left.plot([0, 1], [0, 1], ":", color="grey")
        left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
        precision, recall, _ = precision_recall_curve(y, s)
        sk_precision, sk_recall, _ = skm.precision_recall_curve(y, s, drop_intermediate=False)
        ap = average_precision_score(y, s)
        right.step(recall, precision, where="post", label=f"ours (AP {ap:.4f})")
        right.plot(sk_recall, sk_precision, "o", ms=3, mfc="none", label="sklearn")
        right.set(xlabel="recall", ylabel="precision", title="precision–recall", ylim=(0, 1.02))
        left.legend(loc="lower right")
        right.legend(loc="lower left")
        fig.suptitle(f"one seeded case: n = {len(y)}, {int(y.sum())} positives (seed {seed})")
    return path
