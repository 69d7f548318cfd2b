"""The project's own feature steps, record by record, from their fitted parameters.

Each mirrors its training twin in :mod:`ai_roadmap.classic` (``TitanicFeatures``,
``ChurnFeatures``, ``HouseFeatures``) on a table of records; :func:`export` (training side)
reads the fitted attributes, :func:`make` (serving side) builds the NumPy version.
The tests hold the twins equal on every row of the datasets and on generated records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ai_roadmap.serving.fast import house

NAMES = ("TitanicFeatures", "ChurnFeatures", "HouseFeatures")
Table = dict[str, np.ndarray]
TITLE = re.compile(r",\s*([^.]+)\.")
TITLE_ALIASES = {"Mlle": "Miss", "Ms": "Miss", "Mme": "Mrs"}
SEP = "\x1f"


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _floats(values: np.ndarray) -> np.ndarray:
    return np.array([np.nan if _missing(v) else float(v) for v in values], dtype=float)


def _as_str(values: np.ndarray) -> list[str]:
    """pandas ``astype(str)`` of an object column: None → "None", NaN → "nan"."""
    return ["nan" if isinstance(v, float) and v != v else str(v) for v in values]


def _strings(values: np.ndarray) -> np.ndarray:
    """Object array: strings kept, missing as None."""
    return np.array([None if _missing(v) else str(v) for v in values], dtype=object)


# ── Titanic ──────────────────────────────────────────────────────────────────────────


def _title(name: Any) -> str:
    found = None if _missing(name) else TITLE.search(str(name))
    title = found.group(1).strip() if found else "Unknown"
    return TITLE_ALIASES.get(title, title)


def _deck(cabin: Any) -> str:
    text = "" if _missing(cabin) else str(cabin).strip()
    return text[0] if text else "M"


def _titanic_export(est: Any) -> dict[str, Any]:
    groups = None
    if est.group_by != "none":
        groups = {SEP.join(map(str, key)): rows for key, rows in est.group_members_.items()}
    return {
        "group_by": est.group_by,
        "exclude": list(est.exclude),
        "titles": sorted(est.titles_),
        "decks": sorted(est.decks_),
        "age_median": est.age_median_,
        "age_by_title": {str(k): float(v) for k, v in est.age_by_title_.items()},
        "fare_by_class": {str(int(k)): float(v) for k, v in est.fare_by_class_.items()},
        "fare_median": est.fare_median_,
        "embarked_mode": est.embarked_mode_,
        "ticket_counts": {str(k): int(v) for k, v in est.ticket_counts_.items()},
        "fit_rows": {str(int(k)): int(v) for k, v in est.fit_row_.items()},
        "groups": groups,
        "women_children": est.women_children_.tolist() if groups is not None else None,
        "wc_survived": est.wc_survived_.tolist() if groups is not None else None,
        "wc_prior": est.wc_prior_ if groups is not None else None,
    }


def _titanic(p: dict[str, Any]) -> Callable[[Table], Table]:
    titles, decks = set(p["titles"]), set(p["decks"])
    wc = np.asarray(p["women_children"] or [], dtype=int)
    wc_survived = np.asarray(p["wc_survived"] or [], dtype=int)

    def run(t: Table) -> Table:
        n = len(t["Name"])
        title = [x if x in titles else "Rare" for x in map(_title, t["Name"])]
        deck = [x if x in decks else "Rare" for x in map(_deck, t["Cabin"])]
        age_raw = _floats(t["Age"])
        by_title = np.array([p["age_by_title"].get(x, p["age_median"]) for x in title])
        age = np.where(np.isnan(age_raw), by_title, age_raw)
        pclass = _floats(t["Pclass"]).astype(int)
        fare_raw = _floats(t["Fare"])
        fill = np.array([p["fare_by_class"].get(str(c), p["fare_median"]) for c in pclass])
        fare = np.where(np.isnan(fare_raw), fill, fare_raw)
        pid = [str(int(v)) for v in _floats(t["PassengerId"])]
        seen = np.array([x in p["fit_rows"] for x in pid], dtype=int)
        ticket = [s.strip() for s in _as_str(t["Ticket"])]
        ticket_size = np.array([p["ticket_counts"].get(x, 0) for x in ticket]) + 1 - seen
        sibsp, parch = _floats(t["SibSp"]).astype(int), _floats(t["Parch"]).astype(int)
        family = sibsp + parch + 1
        party = np.maximum(ticket_size, family)
        male = np.array([s == "male" for s in t["Sex"]], dtype=int)
        embarked = [p["embarked_mode"] if _missing(v) else v for v in t["Embarked"]]
        out: Table = {
            "Pclass": pclass,
            "IsMale": male,
            "Age": age,
            "AgeMissing": np.isnan(age_raw).astype(int),
            "IsChild": (age < 14).astype(int),
            "SibSp": sibsp,
            "Parch": parch,
            "FamilySize": family,
            "IsAlone": (family == 1).astype(int),
            "TicketGroupSize": ticket_size,
            "LogFarePerPerson": np.log1p(fare / party),
            "CabinKnown": np.array([not _missing(v) for v in t["Cabin"]], dtype=int),
            "Title": np.array(title, dtype=object),
            "Deck": np.array(deck, dtype=object),
            "Embarked": np.array(embarked, dtype=object),
        }
        if p["group_by"] != "none":
            known, survived = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
            names = t["Name"]
            for i in range(n):
                keys = [f"ticket{SEP}{ticket[i]}"]
                if p["group_by"] == "ticket+family":
                    surname = str(names[i]).split(",")[0].strip().lower()
                    keys.append(f"family{SEP}{surname}{SEP}{pclass[i]}")
                mates = set().union(*(p["groups"].get(k, ()) for k in keys))
                mates.discard(p["fit_rows"].get(pid[i], -1))
                rows = np.fromiter(mates, dtype=int, count=len(mates))
                known[i], survived[i] = wc[rows].sum(), wc_survived[rows].sum()
            rate = np.where(known > 0, survived / np.maximum(known, 1), p["wc_prior"])
            out["GroupWCKnown"], out["GroupWCSurvival"] = known, rate
        for column in p["exclude"]:
            out.pop(column)
        return out

    return run


# ── Telco churn ──────────────────────────────────────────────────────────────────────

CHURN_NUMERIC = ("tenure", "monthly_charges", "total_charges")


def _churn_export(est: Any) -> dict[str, Any]:
    from ai_roadmap.classic import churn_features as cf

    return {
        "medians": est.medians_,
        "edges": est.tenure_edges_.tolist(),
        "categories": {k: list(v) for k, v in est.categories_.items()},
        "flags": list(cf.FLAGS),
        "addons": list(cf.ADDONS),
        "categorical": list(cf.CATEGORICAL),
        "interaction": cf.INTERACTION,
    }


def _churn(p: dict[str, Any]) -> Callable[[Table], Table]:
    edges = np.asarray(p["edges"], dtype=float)

    def category(values: list[Any], column: str) -> np.ndarray:
        levels = set(p["categories"][column])
        return np.array([v if v in levels else None for v in values], dtype=object)

    def run(t: Table) -> Table:
        tenure = _floats(t["tenure"])
        tenure = np.where(np.isnan(tenure), p["medians"]["tenure"], tenure)
        monthly = _floats(t["monthly_charges"])
        monthly = np.where(np.isnan(monthly), p["medians"]["monthly_charges"], monthly)
        total = _floats(t["total_charges"])
        total = np.where(np.isnan(total), monthly * tenure, total)
        out: Table = {"tenure": tenure, "monthly_charges": monthly, "total_charges": total}
        for column in p["flags"]:
            out[column] = _floats(t[column])
        out["tenure_bucket"] = np.searchsorted(edges, tenure, side="right").astype(float)
        out["charges_per_month"] = total / np.maximum(tenure, 1.0)
        out["charges_gap"] = monthly * tenure - total
        out["n_addons"] = np.sum([[v == "Yes" for v in t[c]] for c in p["addons"]], axis=0).astype(
            float
        )
        for column in p["categorical"]:
            out[column] = category([None if _missing(v) else str(v) for v in t[column]], column)
        contract, payment = t["contract"], t["payment_method"]
        pair = [
            None if _missing(a) or _missing(b) else f"{a} | {b}"
            for a, b in zip(contract, payment, strict=True)
        ]
        out[p["interaction"]] = category(pair, p["interaction"])
        return out

    return run


# ── the registry ─────────────────────────────────────────────────────────────────────


def export(est: Any, compiler: Any) -> dict[str, Any]:
    name = type(est).__name__
    if name == "TitanicFeatures":
        return _titanic_export(est)
    if name == "ChurnFeatures":
        return _churn_export(est)
    return house.export(est)


def make(name: str, params: dict[str, Any], arrays: Any) -> Callable[[Table], Table]:
    if name == "TitanicFeatures":
        return _titanic(params)
    if name == "ChurnFeatures":
        return _churn(params)
    return house.make(params)
