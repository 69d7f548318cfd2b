"""A simulated monthly stream of churn customers, with drift injected in named ways.

The Telco table is shuffled once (``seed``); the first ``reference_rows``
customers are the **reference period** (what the first champion is trained on
and what every later month is compared with). Each later month is a sample of
``month_rows`` customers drawn from the remaining pool, with replacement across
months (a customer may appear in two months, as a renewal would), and then
changed by its **kind**:

* ``clean`` — a uniform sample, nothing changed;
* ``tenure_charges`` — covariate shift: customers drawn with weight
  ``exp(−tenure / tenure_scale)`` (a wave of new sign-ups) and prices raised by
  ``price_factor`` (``monthly_charges`` and ``total_charges`` × factor);
* ``contract_mix`` — a new contract mix: each customer's weight is its contract's
  entry in ``contract_weights`` (month-to-month made ``k`` times as likely);
* ``null_column`` — a broken upstream column: ``broken_column`` arrives all-null;
* ``unit_change`` — the same column in other units (× ``unit_factor``, cents
  instead of dollars);
* ``label_drift`` — concept drift: the features are a clean sample but churn is
  re-labelled so that the month's churn rate is ``label_rate`` (non-churners with
  a month-to-month contract turned into churners first, then any), so
  ``P(churn | x)`` moves and only a model trained on new labels can follow.

A month carries its labels (``churn``): in this simulation labels arrive with
the month, as they would a month later in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

LABEL = "churn"
KEY = "customer"  # the routing key the canary hashes (the row's position in the table)
CLEAN = "clean"
FEATURE_DRIFTS = ("tenure_charges", "contract_mix")
BROKEN = ("null_column", "unit_change")
KINDS = (CLEAN, *FEATURE_DRIFTS, *BROKEN, "label_drift")


@dataclass(frozen=True)
class Injection:
    """How strong each named drift is."""

    tenure_scale: float = 24.0  # months: weight exp(−tenure / scale)
    price_factor: float = 1.15  # charges × factor in tenure_charges months
    contract_weights: dict[str, float] = field(
        default_factory=lambda: {"Month-to-month": 6.0, "One year": 1.0, "Two year": 0.5}
    )
    broken_column: str = "monthly_charges"
    unit_factor: float = 100.0  # dollars → cents
    label_rate: float = 0.55  # churn rate of a label_drift month

    def __post_init__(self) -> None:
        if self.tenure_scale <= 0 or self.price_factor <= 0 or self.unit_factor <= 0:
            raise ValueError("tenure_scale, price_factor and unit_factor must be > 0")
        if not 0 < self.label_rate < 1:
            raise ValueError("label_rate must be in (0, 1)")


@dataclass
class Month:
    """One month of the stream: its number, the injected kind, the customers with labels."""

    index: int
    kind: str
    frame: pd.DataFrame  # features + ``churn``; index = customer key

    @property
    def injected(self) -> bool:
        return self.kind != CLEAN


def split_reference(table: pd.DataFrame, reference_rows: int, seed: int) -> tuple[Any, Any]:
    """(reference, pool): the table shuffled once, the first rows the reference period."""
    if not 100 <= reference_rows < len(table) - 100:
        raise ValueError(
            f"reference_rows must be in [100, {len(table) - 100}), got {reference_rows}"
        )
    shuffled = table.sample(frac=1.0, random_state=seed)
    shuffled.index = shuffled.index.astype(str)
    shuffled.index.name = KEY
    return shuffled.iloc[:reference_rows], shuffled.iloc[reference_rows:]


def _weights(pool: pd.DataFrame, kind: str, inj: Injection) -> np.ndarray | None:
    if kind == "tenure_charges":
        return np.exp(-pool["tenure"].to_numpy(float) / inj.tenure_scale)
    if kind == "contract_mix":
        return pool["contract"].map(inj.contract_weights).fillna(1.0).to_numpy(float)
    return None


def _relabel(frame: pd.DataFrame, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """Flip labels until the churn rate is ``rate`` (month-to-month customers first)."""
    out = frame.copy()
    y = out[LABEL].to_numpy().copy()
    goal = round(rate * len(y))
    if goal > y.sum():
        stay = np.flatnonzero(y == 0)
        first = stay[(out["contract"].to_numpy()[stay] == "Month-to-month")]
        order = np.concatenate([rng.permutation(first), rng.permutation(np.setdiff1d(stay, first))])
        y[order[: goal - int(y.sum())]] = 1
    else:
        left = rng.permutation(np.flatnonzero(y == 1))
        y[left[: int(y.sum()) - goal]] = 0
    out[LABEL] = y.astype(frame[LABEL].dtype)
    return out


def make_month(
    pool: pd.DataFrame, index: int, kind: str, rows: int, inj: Injection, seed: int
) -> Month:
    """One month of ``rows`` customers from ``pool`` with drift ``kind`` injected."""
    if kind not in KINDS:
        raise ValueError(f"unknown drift kind {kind!r}; one of {', '.join(KINDS)}")
    rng = np.random.default_rng([seed, index])
    w = _weights(pool, kind, inj)
    p = None if w is None else w / w.sum()
    picked = rng.choice(len(pool), size=min(rows, len(pool)), replace=False, p=p)
    frame = pool.iloc[np.sort(picked)].copy()
    column = inj.broken_column
    if kind == "tenure_charges":
        for name in ("monthly_charges", "total_charges"):
            frame[name] = frame[name] * inj.price_factor
    elif kind == "null_column":
        frame[column] = pd.Series(np.nan, index=frame.index, dtype=float)
    elif kind == "unit_change":
        frame[column] = frame[column] * inj.unit_factor
    elif kind == "label_drift":
        frame = _relabel(frame, inj.label_rate, rng)
    return Month(index, kind, frame)


def monthly_stream(
    pool: pd.DataFrame, kinds: list[str], rows: int, inj: Injection, seed: int
) -> list[Month]:
    """Months 1…n, month k of kind ``kinds[k−1]``."""
    return [make_month(pool, k + 1, kind, rows, inj, seed) for k, kind in enumerate(kinds)]
