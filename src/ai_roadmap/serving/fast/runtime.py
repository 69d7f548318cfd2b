"""Run a compiled pipeline (``fast.json`` + ``fast.npz``) on records with NumPy alone.

A *table* is ``dict[column, 1-D array]`` (numbers as float64 with NaN for missing,
strings as object arrays with None); a *matrix* is a 2-D float64 array. Each step maps
one to the other as its training twin does; the last step gives a probability of the
positive class (classifiers) or the prediction (regressors).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.fast import features
from ai_roadmap.serving.fast.trees import Forest

SPEC_FILE = "fast.json"
ARRAYS_FILE = "fast.npz"
Table = dict[str, np.ndarray]
Step = Callable[[Any], Any]


def expit(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^(−z)) without overflow."""
    return np.exp(-np.logaddexp(0.0, -z))


def table_from_records(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> Table:
    """Columns of the records: numbers as float64 (None → NaN), anything else as objects."""
    table: Table = {}
    for column in columns:
        values = [r.get(column) for r in records]
        if all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values
        ):
            table[column] = np.array([np.nan if v is None else v for v in values], dtype=float)
        else:
            table[column] = np.array(values, dtype=object)
    return table


def _is_missing(values: np.ndarray) -> np.ndarray:
    if values.dtype != object:
        return np.isnan(values)
    return np.array([v is None or (isinstance(v, float) and v != v) for v in values], dtype=bool)


def _one_hot(values: np.ndarray, categories: list[Any]) -> np.ndarray:
    """handle_unknown='ignore': an unseen level is all zeros; NaN matches a NaN level."""
    out = np.zeros((len(values), len(categories)))
    missing = _is_missing(values)
    index = {c: i for i, c in enumerate(categories) if c is not None and c == c}
    nan_at = next((i for i, c in enumerate(categories) if c is None or c != c), None)
    for row, (v, gap) in enumerate(zip(values, missing, strict=True)):
        at = nan_at if gap else index.get(v if values.dtype == object else float(v))
        if at is None and not gap and values.dtype != object:
            at = index.get(int(v)) if float(v).is_integer() else None
        if at is not None:
            out[row, at] = 1.0
    return out


def _dense(table: Table, columns: list[str]) -> np.ndarray:
    return np.column_stack([np.asarray(table[c], dtype=float) for c in columns])


class _Builder:
    """Turns spec entries into callables; arrays are read from ``fast.npz`` by key."""

    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays

    def a(self, key: str) -> np.ndarray:
        return np.asarray(self.arrays[key])

    def build(self, spec: dict[str, Any]) -> Step:
        kind = spec["kind"]
        make = getattr(self, f"_{kind}", None)
        if make is None:
            raise RoadmapError(f"fast path: unknown step {kind!r}; re-export the model")
        return make(spec)

    # containers
    def _pipeline(self, spec: dict[str, Any]) -> Step:
        steps = [self.build(s) for s in spec["steps"]]

        def run(x: Any) -> Any:
            for step in steps:
                x = step(x)
            return x

        return run

    def _columns(self, spec: dict[str, Any]) -> Step:
        parts = [(self.build(p["step"]), p["columns"], p["input"]) for p in spec["parts"]]

        def run(table: Table) -> np.ndarray:
            blocks = []
            for step, columns, kind in parts:
                given = (
                    {c: table[c] for c in columns} if kind == "table" else _dense(table, columns)
                )
                blocks.append(
                    np.asarray(step(given), dtype=float).reshape(len(table[columns[0]]), -1)
                )
            return np.hstack(blocks)

        return run

    def _voting(self, spec: dict[str, Any]) -> Step:
        members = [self.build(m) for m in spec["members"]]
        weights = np.asarray(spec["weights"], dtype=float)

        def run(table: Table) -> np.ndarray:
            return np.average(np.column_stack([m(table) for m in members]), axis=1, weights=weights)

        return run

    def _log_target(self, spec: dict[str, Any]) -> Step:
        inner = self.build(spec["regressor"])
        return lambda x: np.expm1(inner(x))

    # feature steps of this project
    def _features(self, spec: dict[str, Any]) -> Step:
        return features.make(spec["name"], spec["params"], self.arrays)

    def _table_to_matrix(self, spec: dict[str, Any]) -> Step:
        """A feature table as LightGBM reads a DataFrame: categories as their codes."""
        columns, categories = spec["columns"], spec["categories"]
        codes = {c: {v: float(i) for i, v in enumerate(levels)} for c, levels in categories.items()}

        def column(t: Table, name: str) -> np.ndarray:
            if name in codes:
                return np.array([codes[name].get(v, np.nan) for v in t[name]], dtype=float)
            return np.asarray(t[name], dtype=float)

        return lambda t: np.column_stack([column(t, c) for c in columns])

    # matrix transforms
    def _identity(self, spec: dict[str, Any]) -> Step:
        return lambda x: x

    def _affine(self, spec: dict[str, Any]) -> Step:
        """(x − shift) / scale: StandardScaler, RobustScaler."""
        shift, scale = self.a(spec["shift"]), self.a(spec["scale"])
        return lambda x: (x - shift) / scale

    def _impute(self, spec: dict[str, Any]) -> Step:
        fill = self.a(spec["fill"])
        return lambda x: np.where(np.isnan(x), fill, x)

    def _clip(self, spec: dict[str, Any]) -> Step:
        low, high = self.a(spec["low"]), self.a(spec["high"])
        return lambda x: np.clip(x, low, high)

    def _signed_log1p(self, spec: dict[str, Any]) -> Step:
        chosen = self.a(spec["columns"]).astype(int)

        def run(x: np.ndarray) -> np.ndarray:
            out = np.array(x, dtype=float)
            out[:, chosen] = np.sign(out[:, chosen]) * np.log1p(np.abs(out[:, chosen]))
            return out

        return run

    def _impute_table(self, spec: dict[str, Any]) -> Step:
        """SimpleImputer on raw columns: a gap (None or NaN) becomes the fitted fill value."""
        fills = dict(zip(spec["columns"], spec["fill"], strict=True))

        def run(t: Table) -> Table:
            out = dict(t)
            for column, fill in fills.items():
                gap = _is_missing(t[column])
                values = np.array(t[column], dtype=object)
                values[gap] = fill
                out[column] = values
            return out

        return run

    def _one_hot(self, spec: dict[str, Any]) -> Step:
        categories = spec["categories"]
        names = spec["columns"]
        return lambda t: np.hstack(
            [_one_hot(t[n], c) for n, c in zip(names, categories, strict=True)]
        )

    # models
    def _linear(self, spec: dict[str, Any]) -> Step:
        coef, intercept = self.a(spec["coef"]), float(spec["intercept"])
        link = expit if spec["link"] == "logit" else (lambda z: z)
        return lambda x: link(np.asarray(x, dtype=float) @ coef + intercept)

    def _rbf_svr(self, spec: dict[str, Any]) -> Step:
        sv, dual = self.a(spec["support"]), self.a(spec["dual"])
        gamma, intercept = float(spec["gamma"]), float(spec["intercept"])

        def run(x: np.ndarray) -> np.ndarray:
            d2 = (x * x).sum(1)[:, None] - 2 * x @ sv.T + (sv * sv).sum(1)[None, :]
            return np.exp(-gamma * np.maximum(d2, 0.0)) @ dual + intercept

        return run

    def _forest(self, spec: dict[str, Any]) -> Step:
        forest = Forest.from_arrays(spec, self.arrays)
        return forest.predict

    def _woman_child_group(self, spec: dict[str, Any]) -> Step:
        def run(t: Table) -> np.ndarray:
            known = np.asarray(t["GroupWCKnown"], dtype=float) > 0
            rate = np.asarray(t["GroupWCSurvival"], dtype=float)
            female = np.asarray(t["IsMale"], dtype=float) == 0
            boy = np.array([v == "Master" for v in t["Title"]], dtype=bool)
            lives = (female & ~(known & (rate == 0))) | (boy & known & (rate == 1))
            return lives.astype(float)

        return run


def has_fast_path(folder: Path) -> bool:
    return (folder / SPEC_FILE).exists()


class FastModel:
    """A compiled model: ``predict(records)`` → probabilities (classifier) or values."""

    def __init__(self, spec: dict[str, Any], arrays: Any) -> None:
        self.inputs: list[str] = spec["inputs"]
        self.task: str = spec["task"]
        self._run = _Builder(arrays).build(spec["model"])

    @classmethod
    def load(cls, folder: Path, card: Any = None) -> FastModel:
        """Read the files; with ``card``, require them to be compiled from that very model."""
        again = "export the model again with `roadmap serve --export-only`"
        try:
            spec = json.loads((folder / SPEC_FILE).read_text(encoding="utf-8"))
            blob = (folder / ARRAYS_FILE).read_bytes()
            if hashlib.sha256(blob).hexdigest() != spec.get("arrays_sha256"):
                raise ValueError(f"{ARRAYS_FILE} does not match its sha256 in {SPEC_FILE}")
            with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
            model = cls(spec, arrays)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RoadmapError(
                f"{folder}: the fast path files are unreadable ({exc}); {again}"
            ) from None
        if card is not None and spec.get("model_sha256") != card.sha256:
            raise RoadmapError(f"{folder}: the fast path was compiled from another model; {again}")
        return model

    def predict(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        """One figure per record; ValueError when a record gives no finite prediction."""
        with np.errstate(all="ignore"):
            out = np.asarray(self._run(table_from_records(records, self.inputs)), dtype=float)
        out = out.reshape(len(records))
        if not np.isfinite(out).all():
            bad = int(np.flatnonzero(~np.isfinite(out))[0])
            raise ValueError(f"record {bad} gives no finite prediction (check its values)")
        return out
