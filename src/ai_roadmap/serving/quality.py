"""Model-quality gauges of the prediction service: drift per feature, predictions, canary, version.

The drift reference is the model's training data, summarised when the model is
exported (:mod:`ai_roadmap.mlops.monitoring` writes it) and stored beside it as
``drift_reference.json``: per numeric feature the inner bucket edges at its
quantiles and the training rows' count in each bucket (the last bucket counts
missing values); per categorical feature its categories and their counts (then
one bucket for unseen categories, one for missing ones). A few hundred numbers.

At serving time each scored row adds one to one bucket per feature (a bisection
or a dict look-up: microseconds); every ``window`` rows the service computes

    SI_f = Σ_i (a_i − e_i) · ln(a_i / e_i)

over the reference shares ``e`` and the window's shares ``a`` (each floored at
1e-4), publishes it as ``roadmap_feature_psi{model,feature,statistic}`` and starts
a new window. This is the formula of :func:`ai_roadmap.mlops.drift.stability_index`
on the same buckets — the service does not import ``mlops`` (which builds on the
service), so the tests check that both give the same numbers:
:func:`~ai_roadmap.mlops.drift.population_stability_index` for numeric features,
:func:`~ai_roadmap.mlops.drift.characteristic_stability_index` for categorical ones
(when a window has at most one unseen category: here they share one bucket).

Besides drift: the predicted probabilities as a histogram
(``roadmap_prediction_probability``), the canary's share of traffic
(``roadmap_canary_share``, 0 until a router calls :func:`set_canary_share`), the
served version (``roadmap_model_version{model,version}``); GPU utilisation is in
:mod:`ai_roadmap.serving.gpu`. Gauges use ``multiprocess_mode="mostrecent"`` so
that under several Gunicorn workers ``/metrics`` shows the latest value written.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError

REFERENCE_FILE = "drift_reference.json"
PROBABILITY_BUCKETS = tuple(round(0.1 * k, 1) for k in range(1, 11))
FLOOR = 1e-4  # an empty bucket's share, as in mlops.drift
_GAUGES: dict[str, Any] = {}


@dataclass(frozen=True)
class FeatureReference:
    """One feature's reference buckets: numeric edges or categories, and the counts in each."""

    name: str
    statistic: str  # PSI (numeric) | CSI (categorical)
    counts: tuple[int, ...]  # numeric: len(edges) + 2; categorical: len(categories) + 2
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    def bucket(self, value: Any) -> int:
        """The bucket of one request value (the last bucket is 'missing')."""
        missing = len(self.counts) - 1
        if value is None:
            return missing
        if self.statistic == "PSI":
            try:
                x = float(value)
            except (TypeError, ValueError):
                return missing
            # bisect_left == np.searchsorted(side="left"), as drift.numeric_counts buckets
            return bisect_left(self.edges, x) if math.isfinite(x) else missing
        try:
            return self.categories.index(str(value))
        except ValueError:
            return len(self.categories)  # unseen


def read_reference(folder: Path) -> list[FeatureReference] | None:
    """The stored summary, or None when the model was exported without one."""
    path = folder / REFERENCE_FILE
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return [
            FeatureReference(
                f["name"],
                f["statistic"],
                tuple(f["counts"]),
                tuple(f["edges"]),
                tuple(f["categories"]),
            )
            for f in payload["features"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise RoadmapError(f"{path}: unreadable drift reference ({exc}); export it again") from None


def stability_index(expected: Sequence[int], actual: Sequence[int], floor: float = FLOOR) -> float:
    """Σ (a − e) ln(a / e) over bucket shares (the service's copy of mlops.drift's formula)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e = np.maximum(e / e.sum(), floor)
    a = np.maximum(a / a.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


# ── the gauges ───────────────────────────────────────────────────────────────────────


def gauges() -> dict[str, Any]:
    """The process's quality metrics (created once, in the default registry)."""
    if not _GAUGES:
        from prometheus_client import Counter, Gauge, Histogram

        _GAUGES["psi"] = Gauge(
            "roadmap_feature_psi",
            "Stability index of each input against the training data, last complete window.",
            ["model", "feature", "statistic"],
            multiprocess_mode="mostrecent",
        )
        _GAUGES["windows"] = Counter("roadmap_drift_windows", "Drift windows computed.", ["model"])
        _GAUGES["pending"] = Gauge(
            "roadmap_drift_window_pending_rows",
            "Rows counted into the drift window that is not complete yet.",
            ["model"],
            multiprocess_mode="mostrecent",
        )
        _GAUGES["window"] = Gauge(
            "roadmap_drift_window_rows",
            "Rows per drift window.",
            ["model"],
            multiprocess_mode="max",
        )
        _GAUGES["probability"] = Histogram(
            "roadmap_prediction_probability",
            "Predicted probability of the positive class.",
            ["model"],
            buckets=PROBABILITY_BUCKETS,
        )
        _GAUGES["canary"] = Gauge(
            "roadmap_canary_share",
            "Share of traffic sent to the canary (challenger) model.",
            ["model"],
            multiprocess_mode="mostrecent",
        )
        _GAUGES["version"] = Gauge(
            "roadmap_model_version",
            "Served model version (the registry's number; 0 when it is not a number).",
            ["model", "version"],
            multiprocess_mode="max",
        )
    return _GAUGES


def set_canary_share(model: str, share: float) -> None:
    """What a canary router calls when it moves traffic (0 = everything to the champion)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"canary share must be within [0, 1], got {share}")
    gauges()["canary"].labels(model).set(share)


def set_model_version(model: str, version: str) -> None:
    number = float(version) if version.replace(".", "", 1).isdigit() else 0.0
    gauges()["version"].labels(model, version).set(number)


# ── the monitor ──────────────────────────────────────────────────────────────────────


class QualityMonitor:
    """Counts each scored row into per-feature buckets; publishes PSI every ``window`` rows."""

    def __init__(self, model: str, features: list[FeatureReference], window: int) -> None:
        if window < 1:
            raise ValueError("the drift window must hold at least one row")
        self.model = model
        self.features = features
        self.window = window
        self.counts = [[0] * len(f.counts) for f in features]
        self.rows = 0
        self.metrics = gauges()
        self.metrics["window"].labels(model).set(window)
        self.metrics["pending"].labels(model).set(0)

    def observe(self, rows: list[dict[str, Any]], probabilities: Sequence[float] | None) -> None:
        """Add a request's rows (and its predicted probabilities); a full window is published."""
        for row in rows:
            for feature, counts in zip(self.features, self.counts, strict=True):
                counts[feature.bucket(row.get(feature.name))] += 1
        if probabilities is not None:
            histogram = self.metrics["probability"].labels(self.model)
            for p in probabilities:
                histogram.observe(float(p))
        self.rows += len(rows)
        if self.rows >= self.window:  # a batch is never split: a window holds ≥ window rows
            self.publish()
        self.metrics["pending"].labels(self.model).set(self.rows)

    def publish(self) -> dict[str, float]:
        """Each feature's index over the current window, set on the gauge; the window restarts."""
        found = {}
        for feature, counts in zip(self.features, self.counts, strict=True):
            value = stability_index(feature.counts, counts)
            self.metrics["psi"].labels(self.model, feature.name, feature.statistic).set(value)
            found[feature.name] = value
        self.metrics["windows"].labels(self.model).inc()
        self.counts = [[0] * len(f.counts) for f in self.features]
        self.rows = 0
        return found


def start_monitor(
    model: str, version: str, folder: Path, window: int, canary_share: float = 0.0
) -> QualityMonitor | None:
    """Set the version and canary gauges; the drift monitor when the folder has a reference."""
    set_model_version(model, version)
    set_canary_share(model, canary_share)
    features = read_reference(folder)
    return QualityMonitor(model, features, window) if features else None
