"""Our metrics against scikit-learn's on seeded random inputs and fixed edge cases.

:func:`comparisons` pairs each metric of :mod:`ai_roadmap.classic.metrics` with
its ``sklearn.metrics`` twin, both called alike; :func:`random_case` draws an
input of the kind a metric takes (ties, exact 0/1 probabilities and one-hot rows
included on purpose, since that is where implementations disagree);
:func:`edge_cases` lists the hand-picked inputs (all-equal scores, a single
positive, string labels, zero division, q = 0 and q = 1 under clipping); and

    max_abs_diff(ours, theirs) = max_k max_i |ours_k[i] − theirs_k[i]|

over every output array k, equal infinities counting 0 and a shape mismatch ∞.
:func:`compare_all` reduces it to one row per metric. The same cases grade a
learner's own metric in ``roadmap check s2.metrics``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ai_roadmap.classic.metrics import (
    average_precision_score,
    confusion_matrix,
    cross_entropy,
    f1_score,
    log_loss,
    mean_absolute_error,
    precision_recall_curve,
    roc_auc_score,
    roc_auc_trapezoid,
    roc_curve,
    root_mean_squared_error,
    root_mean_squared_log_error,
)


def _log_loss_of_one_hot(sklearn_log_loss: Callable, y_target: Any, y_proba: Any) -> float:
    target = np.asarray(y_target)
    return sklearn_log_loss(target.argmax(axis=1), y_proba, labels=np.arange(target.shape[1]))


def comparisons() -> dict[str, tuple[str, Callable, Callable]]:
    """Metric name → (kind of random case, ours, scikit-learn's), both called alike."""
    from sklearn import metrics as skm

    macro, micro = {"average": "macro"}, {"average": "micro"}
    return {
        "roc_auc": ("scores", roc_auc_score, skm.roc_auc_score),
        "roc_auc_trapezoid": ("scores", roc_auc_trapezoid, skm.roc_auc_score),
        "roc_curve": ("scores", roc_curve, partial(skm.roc_curve, drop_intermediate=False)),
        "pr_curve": (
            "scores",
            precision_recall_curve,
            partial(skm.precision_recall_curve, drop_intermediate=False),
        ),
        "average_precision": ("scores", average_precision_score, skm.average_precision_score),
        "f1_binary": ("binary_labels", f1_score, skm.f1_score),
        "f1_macro": ("labels", partial(f1_score, **macro), partial(skm.f1_score, **macro)),
        "f1_micro": ("labels", partial(f1_score, **micro), partial(skm.f1_score, **micro)),
        "confusion_matrix": ("labels", confusion_matrix, skm.confusion_matrix),
        "log_loss_binary": ("binary_proba", log_loss, skm.log_loss),
        "log_loss_multiclass": ("proba", log_loss, skm.log_loss),
        "cross_entropy": (
            "one_hot_proba",
            cross_entropy,
            partial(_log_loss_of_one_hot, skm.log_loss),
        ),
        "mae": ("regression", mean_absolute_error, skm.mean_absolute_error),
        "rmse": ("regression", root_mean_squared_error, skm.root_mean_squared_error),
        "rmsle": (
            "positive_regression",
            root_mean_squared_log_error,
            skm.root_mean_squared_log_error,
        ),
    }


def _binary(rng: np.random.Generator, n: int) -> np.ndarray:
    y = (rng.random(n) < rng.uniform(0.05, 0.95)).astype(np.int64)
    y[rng.choice(n, 2, replace=False)] = [0, 1]  # both classes present
    return y


def _proba(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    q = rng.dirichlet(np.full(k, rng.choice([0.2, 1.0, 5.0])), size=n)  # (n, k)
    sure = rng.random(n) < 0.1  # some rows exactly one-hot: 0 and 1 hit the clipping
    q[sure] = np.eye(k)[rng.integers(0, k, sure.sum())]
    return q


def random_case(kind: str, rng: np.random.Generator, max_samples: int) -> tuple[tuple, dict]:
    """One random input (args, kwargs) of the given kind; ties and exact 0/1 included."""
    n, k = int(rng.integers(2, max_samples + 1)), int(rng.integers(2, 7))
    if kind == "scores":
        y = _binary(rng, n)
        s = rng.normal(size=n) + rng.uniform(0, 3) * y
        return (y, np.round(s, 1) if rng.random() < 0.5 else s), {}  # rounding makes ties
    if kind in ("binary_labels", "labels"):
        k = 2 if kind == "binary_labels" else k
        y = rng.integers(0, k, n)
        flip = rng.random(n) < rng.uniform(0, 0.6)
        return (y, np.where(flip, rng.integers(0, k, n), y)), {}
    if kind == "binary_proba":
        q = rng.random(n)
        q[rng.random(n) < 0.1] = rng.integers(0, 2)  # exact 0 or 1
        return (_binary(rng, n), q), {}
    if kind == "proba":
        return (rng.integers(0, k, n), _proba(rng, n, k)), {"labels": np.arange(k)}
    if kind == "one_hot_proba":
        return (np.eye(k)[rng.integers(0, k, n)], _proba(rng, n, k)), {}
    y = rng.normal(size=n) * rng.uniform(0.1, 5)
    if kind == "positive_regression":
        y = np.where(rng.random(n) < 0.1, 0.0, np.exp(y))
        return (y, np.exp(rng.normal(size=n)) * y), {}
    return (y, y + rng.normal(size=n) * rng.uniform(0.01, 2)), {}


_EYE = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
_WRONG = [_EYE[1], _EYE[2], _EYE[0]]  # every prediction sure and wrong
_WORDS = (["cat", "dog", "bird", "cat", "dog"], ["cat", "bird", "bird", "dog", "cat"])
# fmt: off
RANKED_EDGES = [
    ([0, 0, 1, 1, 0, 1], [0.5, 0.2, 0.5, 0.8, 0.8, 0.2]),  # ties across classes
    ([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]),  # all scores equal
    ([0, 0, 0, 1, 0], [0.1, 0.4, 0.35, 0.8, 0.2]),  # a single positive, ranked first
    ([0, 0, 0, 1, 0], [0.1, 0.4, 0.35, 0.0, 0.2]),  # ... ranked last
    ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),  # perfect, inverted
    ([0.0, 1.0, 1.0, 0.0], [0.2, 0.9, 0.4, 0.6]),  # float labels
    ([-1, 1, 1, -1], [2, 7, 7, -3]),  # {-1, 1} labels, integer scores
]
EDGE_CASES: dict[str, list[tuple]] = {  # metric -> (y_true, other[, kwargs])
    "roc_auc": [(["neg", "pos", "pos", "neg"], [0.1, 0.8, 0.8, 0.9])],  # string labels
    "f1_binary": [
        ([0, 1, 1, 0], [0, 0, 0, 0]), ([0, 0], [0, 0]),  # zero division
        ([1, 0, 1], [1, 0, 1]), ([0, 1, 1], [0.0, 1.0, 0.0]),
        (["spam", "ham", "spam"], ["spam", "spam", "ham"], {"pos_label": "spam"}),
    ],
    "confusion_matrix": [
        (*_WORDS, {"labels": ["dog", "cat", "fish"]}),  # reordered, one absent, one unseen
        ([0, 1, 2], [0.0, 2.0, 2.0], {"labels": [2, 0]}),
    ],
    "log_loss_binary": [
        ([0, 1, 1, 0], [0.0, 1.0, 0.0, 1.0]), ([0, 1], [0.0, 1.0]),  # exact 0 and 1: clipped
        (["no", "yes", "yes"], [0.2, 0.7, 1.0]), ([1, 0], [0.5, 0.5]),
    ],
    "log_loss_multiclass": [
        ([0, 1, 2], _EYE), ([0, 1, 2], _WRONG), ([0, 2, 2], _EYE, {"labels": [0, 1, 2]}),
    ],
    "cross_entropy": [(_EYE, _EYE), (_EYE, _WRONG)],
    "rmsle": [([0.0, -0.5, 3.0], [0.0, 0.5, 30.0])],
}
# fmt: on
_SHARED_EDGES: dict[
    str, tuple[list, tuple[str, ...]]
] = {  # metrics that also take every case of a shared list
    "ranked": (
        RANKED_EDGES,
        ("roc_auc", "roc_auc_trapezoid", "roc_curve", "pr_curve", "average_precision"),
    ),
    "labels": (
        [_WORDS, ([0, 1, 2, 2], [0, 2, 2, 2]), ([3], [3])],
        ("f1_macro", "f1_micro", "confusion_matrix"),
    ),
    "regression": ([([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]), ([2.5], [0.0])], ("mae", "rmse", "rmsle")),
}


def edge_cases() -> list[tuple[str, tuple, dict]]:
    """(metric, args, kwargs): ties, all-equal scores, exact 0/1, label types, zero division."""
    cases = [(metric, case) for metric, listed in EDGE_CASES.items() for case in listed]
    for listed, metrics in _SHARED_EDGES.values():
        cases += [(metric, case) for metric in metrics for case in listed]
    return [(metric, tuple(case[:2]), case[2] if len(case) > 2 else {}) for metric, case in cases]


def max_abs_diff(ours: Any, theirs: Any) -> float:
    """max |ours − theirs| over all outputs; equal infinities count 0, a shape mismatch inf."""
    worst = 0.0
    parts = zip(ours, theirs, strict=True) if isinstance(ours, tuple) else [(ours, theirs)]
    for a, b in parts:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return float("inf")
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff = np.nan_to_num(np.where(same, 0.0, np.abs(a - b)), nan=np.inf)
        worst = max(worst, float(np.max(diff, initial=0.0)))
    return worst


def compare_all(seed: int, cases_per_metric: int, max_samples: int) -> list[dict[str, Any]]:
    """One row per metric: max |ours − sklearn| over the random and the edge cases."""
    pairs, edges = comparisons(), edge_cases()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn and we both warn on zero division
        for index, (name, (kind, ours, theirs)) in enumerate(pairs.items()):
            rng = np.random.default_rng([seed, index])
            inputs = [random_case(kind, rng, max_samples) for _ in range(cases_per_metric)]
            random_diff = max(max_abs_diff(ours(*a, **kw), theirs(*a, **kw)) for a, kw in inputs)
            mine = [(a, kw) for metric, a, kw in edges if metric == name]
            edge_diff = max(max_abs_diff(ours(*a, **kw), theirs(*a, **kw)) for a, kw in mine)
            rows.append({"metric": name, "random_cases": len(inputs), "edge_cases": len(mine),
                         "max_abs_diff_random": random_diff, "max_abs_diff_edge": edge_diff,
                         "max_abs_diff": max(random_diff, edge_diff)})  # fmt: skip
    return rows
