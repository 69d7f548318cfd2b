"""Written dates and their ISO forms: a synthetic translation task with a known answer.

Every calendar day of a window of under a century is written in one of sixteen human
formats ("3 March 2021", "Wed, 3 Mar 21", "03/03/2021", "2021年3月3日", …), each
paired with its ISO date ("2021-03-03"). Slashes are US order (month first) and dots
European (day first), and two-digit years stand for the window, so no string names two
dates: the mapping is a function a sequence model can learn exactly. :func:`make_dates`
holds out whole days, so a held-out date is never seen in training in any format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, …, 21st."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _month(d: date) -> str:
    return MONTHS[d.month - 1]


# CLDR-style pattern -> writer. Slashes are US order (month first) and dots European
# (day first), so no string is ambiguous; two-digit years stand for 1950–2049.
FORMATS: dict[str, Callable[[date], str]] = {
    "d MMMM yyyy": lambda d: f"{d.day} {_month(d)} {d.year}",
    "MMMM d, yyyy": lambda d: f"{_month(d)} {d.day}, {d.year}",
    "d MMM yyyy": lambda d: f"{d.day} {_month(d)[:3]} {d.year}",
    "MMM d, yyyy": lambda d: f"{_month(d)[:3]} {d.day}, {d.year}",
    "EEEE, MMMM d, yyyy": lambda d: f"{WEEKDAYS[d.weekday()]}, {_month(d)} {d.day}, {d.year}",
    "EEE, d MMM yy": lambda d: f"{WEEKDAYS[d.weekday()][:3]}, {d.day} {_month(d)[:3]} {d:%y}",
    "MM/dd/yyyy": lambda d: f"{d:%m/%d/%Y}",
    "M/d/yy": lambda d: f"{d.month}/{d.day}/{d:%y}",
    "dd.MM.yyyy": lambda d: f"{d:%d.%m.%Y}",
    "dd-MMM-yyyy": lambda d: f"{d:%d}-{_month(d)[:3]}-{d.year}",
    "yyyyMMdd": lambda d: f"{d:%Y%m%d}",
    "yyyy/MM/dd": lambda d: f"{d:%Y/%m/%d}",
    "do 'of' MMMM yyyy": lambda d: f"{ordinal(d.day)} of {_month(d)} {d.year}",
    "mmmm do yyyy": lambda d: f"{_month(d).lower()} {ordinal(d.day)} {d.year}",
    "D MMMM YYYY": lambda d: f"{d.day} {_month(d).upper()} {d.year}",
    "yyyy年M月d日": lambda d: f"{d.year}年{d.month}月{d.day}日",
}


@dataclass(frozen=True)
class DatePairs:
    """Written dates (sources), their ISO forms (targets) and the format each was drawn in."""

    sources: list[str]
    targets: list[str]
    formats: list[str]


def render(day: date, fmt: str) -> str:
    return FORMATS[fmt](day)


def _pairs(ordinals: np.ndarray, rng: np.random.Generator) -> DatePairs:
    names = list(FORMATS)
    days = [date.fromordinal(int(o)) for o in ordinals]
    fmts = [names[i] for i in rng.integers(len(names), size=len(days))]
    return DatePairs(
        [render(d, f) for d, f in zip(days, fmts, strict=True)], [d.isoformat() for d in days], fmts
    )


def make_dates(
    seed: int, n_train: int, n_test: int, first_year: int = 1950, last_year: int = 2049
) -> tuple[DatePairs, DatePairs]:
    """(training pairs, held-out pairs), every draw from ``seed``.

    The calendar days of [first_year, last_year] are shuffled; the first ``n_test`` are
    held out (each written once, in a random format) and the training pairs draw days
    (with replacement) and formats from the rest, so no held-out date — in any format —
    is ever seen in training.
    """
    if not 0 < last_year - first_year < 100:
        raise ValueError("the years must span less than a century (two-digit years)")
    first = date(first_year, 1, 1).toordinal()
    n_days = date(last_year, 12, 31).toordinal() - first + 1
    if not 0 < n_test < n_days:
        raise ValueError(f"n_test must be between 1 and {n_days - 1}")
    rng = np.random.default_rng(seed)
    order = first + rng.permutation(n_days)
    held_out, seen = order[:n_test], order[n_test:]
    train = _pairs(rng.choice(seen, size=n_train), rng)
    return train, _pairs(held_out, rng)
