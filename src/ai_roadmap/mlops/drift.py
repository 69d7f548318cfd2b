"""Population and characteristic stability indices: how far a batch has moved from the reference.

Both compare the share of rows in each bucket, reference ``e`` against current ``a``:

    SI = Σ_i (a_i − e_i) · ln(a_i / e_i)

which is the symmetric Kullback–Leibler divergence ``KL(a‖e) + KL(e‖a)`` of the
two bucket distributions (Siddiqi, *Credit Risk Scorecards*, 2006, ch. 8; Yurdakul,
"Statistical properties of the population stability index", 2018).

* **PSI** — a numeric feature, bucketed on the reference's quantiles (deciles by
  default; tied edges merged, the outer buckets open to ±∞), so each reference
  bucket holds about the same share.
* **CSI** — a categorical feature, one bucket per category; a category the
  reference never had is a bucket of its own (reference share 0).

Missing values (NaN / None) are one more bucket in both, so a column that
arrives all-null drifts as far as it can rather than vanishing from the count.
An empty bucket's share is floored at ``floor`` (1e-4) before the logarithm,
the usual guard: without it one empty bucket makes the index infinite.

Bands in common use: < 0.1 stable, 0.1–0.25 watch, > 0.25 act.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STABLE, WATCH, ACT = "stable", "watch", "act"
WATCH_FROM, ACT_ABOVE = 0.1, 0.25
FLOOR = 1e-4


def band(index: float) -> str:
    """``stable`` below 0.1, ``act`` above 0.25, ``watch`` between."""
    if index < WATCH_FROM:
        return STABLE
    return ACT if index > ACT_ABOVE else WATCH


def stability_index(expected: np.ndarray, actual: np.ndarray, floor: float = FLOOR) -> float:
    """Σ (a − e) ln(a / e) over buckets, from counts or shares (each normalised to sum 1)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1 or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("expected and actual must be 1-D bucket counts of the same length, > 0")
    e = np.maximum(e / e.sum(), floor)
    a = np.maximum(a / a.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def quantile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """Inner bucket edges at the reference's quantiles 1/bins … (bins−1)/bins, ties merged."""
    values = np.asarray(reference, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))


def numeric_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bucket ``(-∞, e₀], (e₀, e₁], …, (e_k, ∞)``, then one for missing values."""
    x = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(x)
    # side="left": a value equal to an edge falls in the bucket that edge closes
    index = np.searchsorted(edges, x[~missing], side="left")
    counts = np.bincount(index, minlength=len(edges) + 1)
    return np.append(counts, missing.sum())


def population_stability_index(
    reference: np.ndarray, current: np.ndarray, bins: int = 10, floor: float = FLOOR
) -> float:
    """PSI of a numeric feature, bucketed on the reference's quantiles (see the module)."""
    edges = quantile_edges(reference, bins)
    return stability_index(numeric_counts(reference, edges), numeric_counts(current, edges), floor)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def category_counts(values: Iterable[Any], categories: Sequence[Any]) -> np.ndarray:
    """Counts per category in ``categories`` order, then unseen ones, then missing values."""
    position = {c: k for k, c in enumerate(categories)}
    counts = np.zeros(len(categories) + 2, dtype=np.int64)
    for value in values:
        if _is_missing(value):
            counts[-1] += 1
        else:
            counts[position.get(value, len(categories))] += 1
    return counts


def characteristic_stability_index(
    reference: Iterable[Any], current: Iterable[Any], floor: float = FLOOR
) -> float:
    """CSI of a categorical feature: one bucket per reference category, unseen, missing."""
    reference = list(reference)
    current = list(current)
    seen = sorted({v for v in reference if not _is_missing(v)}, key=str)
    unseen = {v for v in current if not _is_missing(v)} - set(seen)
    categories = seen + sorted(unseen, key=str)  # every current category gets its own bucket
    return stability_index(
        category_counts(reference, categories), category_counts(current, categories), floor
    )


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's index against the reference, which index it is, and its band."""

    feature: str
    statistic: str  # PSI | CSI
    value: float

    @property
    def band(self) -> str:
        return band(self.value)


def feature_drift(
    reference: Any, current: Any, columns: Sequence[str] | None = None, bins: int = 10
) -> list[FeatureDrift]:
    """PSI for numeric columns, CSI for the others, of two DataFrames (``columns``: all shared)."""
    import pandas as pd

    names = list(columns) if columns is not None else [c for c in reference if c in current]
    found = []
    for name in names:
        ref, cur = reference[name], current[name]
        if pd.api.types.is_numeric_dtype(ref) and not pd.api.types.is_bool_dtype(ref):
            cur_numeric = pd.to_numeric(cur, errors="coerce").to_numpy(dtype=np.float64)
            value = population_stability_index(ref.to_numpy(dtype=np.float64), cur_numeric, bins)
            found.append(FeatureDrift(name, "PSI", value))
        else:
            value = characteristic_stability_index(
                ref.astype(object).where(ref.notna(), None),
                cur.astype(object).where(cur.notna(), None),
            )
            found.append(FeatureDrift(name, "CSI", value))
    return found
