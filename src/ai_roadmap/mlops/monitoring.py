"""Model-quality gauges for the prediction service: drift per feature, predictions, canary, version.

The reference is the model's training data, summarised once when the model is
exported and stored beside it (``drift_reference.json``): per numeric feature the
inner bucket edges at its quantiles and the count in each bucket (the last bucket
counts missing values), per categorical feature its categories and their counts
(then one bucket for unseen categories, one for missing). That is a few hundred
numbers, not the training set.

At serving time each scored row adds one to one bucket per feature (a bisection
or a dict look-up: microseconds); every ``window`` rows the service computes

    PSI_f = Σ_i (a_i − e_i) · ln(a_i / e_i)

for each feature ``f`` with :func:`ai_roadmap.mlops.drift.stability_index` over the
reference shares ``e`` and the window's shares ``a``, publishes it as the gauge
``roadmap_feature_psi{model,feature,statistic}`` and starts a new window. On the
same buckets this is exactly :func:`~ai_roadmap.mlops.drift.population_stability_index`
(numeric) and :func:`~ai_roadmap.mlops.drift.characteristic_stability_index`
(categorical, when the window has at most one unseen category: here all unseen
categories share one bucket, because the summary is fixed at export).

Besides drift: the predicted probabilities as a histogram
(``roadmap_prediction_probability``), the canary's share of traffic
(``roadmap_canary_share``, 0 until a router sets it with :func:`set_canary_share`),
the served version (``roadmap_model_version{model,version}``) and GPU utilisation
(:mod:`ai_roadmap.mlops.gpu`). Gauges use ``multiprocess_mode="mostrecent"`` so that
under several Gunicorn workers ``/metrics`` shows the latest value written.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops.drift import (
    category_counts,
    numeric_counts,
    quantile_edges,
    stability_index,
)

REFERENCE_FILE = "drift_reference.json"
PROBABILITY_BUCKETS = tuple(round(0.1 * k, 1) for k in range(1, 11))
NUMERIC_TYPES = ("integer", "number")
_GAUGES: dict[str, Any] = {}


# ── the reference summary ────────────────────────────────────────────────────────────


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


def summarise_reference(
    frame: Any, schema: dict[str, dict[str, Any]], bins: int = 10, exclude: Sequence[str] = ()
) -> list[FeatureReference]:
    """The reference buckets of every numeric and categorical input (free text is skipped)."""
    found = []
    for name, spec in schema.items():
        if name in exclude or name not in frame:
            continue
        column = frame[name]
        if spec.get("type") in NUMERIC_TYPES:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            edges = quantile_edges(values, bins)
            counts = numeric_counts(values, edges)
            found.append(FeatureReference(name, "PSI", _ints(counts), tuple(map(float, edges))))
        elif spec.get("type") == "category":
            values = _categories(column)
            categories = sorted({v for v in values if v is not None})
            counts = category_counts(values, categories)
            found.append(FeatureReference(name, "CSI", _ints(counts), (), tuple(categories)))
    if not found:
        raise RoadmapError("no numeric or categorical input to monitor; check the model's schema")
    return found


def _ints(counts: np.ndarray) -> tuple[int, ...]:
    return tuple(int(c) for c in counts)


def write_reference(folder: Path, features: list[FeatureReference], bins: int) -> Path:
    """``<folder>/drift_reference.json``, written to a temp file first, then renamed."""
    payload = {"version": 1, "bins": bins, "features": [asdict(f) for f in features]}
    handle, tmp = tempfile.mkstemp(prefix=".ref-", suffix=".json", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(payload, out, indent=1)
    final = folder / REFERENCE_FILE
    os.replace(tmp, final)
    return final


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
            value = stability_index(np.asarray(feature.counts), np.asarray(counts))
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


def window_indices(
    reference: Any, window: Any, features: list[FeatureReference], bins: int = 10
) -> dict[str, float]:
    """The readable path: each feature's index computed by :mod:`ai_roadmap.mlops.drift` from
    the raw reference and window frames (the service must publish the same numbers)."""
    from ai_roadmap.mlops.drift import characteristic_stability_index, population_stability_index

    found = {}
    for f in features:
        if f.statistic == "PSI":
            ref = reference[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
            cur = window[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
            found[f.name] = population_stability_index(ref, cur, bins)
        else:
            found[f.name] = characteristic_stability_index(
                _categories(reference[f.name]), _categories(window[f.name])
            )
    return found


def _categories(column: Any) -> list[str | None]:
    return [None if v is None or v != v else str(v) for v in column.tolist()]
