"""Validate a batch against the champion's training schema (pandera); quarantine what fails.

The schema is the model card's ``input_schema`` (:func:`ai_roadmap.artifacts.infer_input_schema`
on the training rows): per column its type, its range (numbers, widened by half
the training range on each side) or its categories, and whether it may be
missing. Two checks are added that a row-wise schema cannot see:

* a column's share of missing values may not exceed
  ``max(null_slack · reference share, null_floor)`` — a column that arrives
  all-null is a broken feed even where a few nulls are allowed;
* every column the model takes must be present.

A batch that fails is **quarantined**: written aside (``<dir>/month-NN/batch.parquet``
and ``reason.txt``, into a temporary folder renamed into place) and kept out of
drift decisions and training, so a broken feed never triggers retraining on garbage.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NULL_SLACK = 2.0
NULL_FLOOR = 0.05


@dataclass(frozen=True)
class Validation:
    ok: bool
    reason: str  # "" when ok; else one line per failed check (column: check, n failures)


def pandera_schema(input_schema: dict[str, dict[str, Any]], null_share: dict[str, float]) -> Any:
    """A ``pandera.DataFrameSchema`` from a card's input schema and reference null shares."""
    import pandera.pandas as pa

    columns = {}
    for name, spec in input_schema.items():
        limit = max(NULL_SLACK * null_share.get(name, 0.0), NULL_FLOOR)
        null_check = pa.Check(
            lambda s, limit=limit: bool(s.isna().mean() <= limit),
            element_wise=False,
            error=f"missing share above {limit:.3f}",
        )
        checks = [null_check]
        if spec["type"] in ("integer", "number"):
            dtype: Any = float
            checks.append(pa.Check.in_range(spec["min"], spec["max"]))
        elif spec["type"] == "category":
            dtype = object
            checks.append(pa.Check.isin(spec["categories"]))
        else:
            dtype = object
        columns[name] = pa.Column(
            dtype, checks=checks, nullable=bool(spec.get("nullable")), coerce=True
        )
    return pa.DataFrameSchema(columns, strict=False)


def validate(batch: Any, schema: Any) -> Validation:
    """Every failure of the batch against ``schema`` (lazy: all columns, not the first)."""
    import pandera.errors as pe

    frame = batch.copy()
    for column in frame.columns:  # category columns as plain objects, like the training rows
        if frame[column].dtype.kind not in "biufc":
            frame[column] = frame[column].astype(object)
    try:
        schema.validate(frame, lazy=True)
    except pe.SchemaErrors as exc:
        cases = exc.failure_cases
        grouped = cases.groupby(["column", "check"], dropna=False).size()
        lines = [f"{col}: {check} ({n} failing)" for (col, check), n in grouped.items()]
        return Validation(False, "; ".join(lines))
    return Validation(True, "")


def quarantine(batch: Any, reason: str, folder: Path) -> Path:
    """Write the batch and its reason into ``folder`` atomically; returns ``folder``."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        batch.to_parquet(tmp / "batch.parquet")
        (tmp / "reason.txt").write_text(reason + "\n", encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
