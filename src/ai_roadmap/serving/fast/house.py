"""``HouseFeatures`` (:mod:`ai_roadmap.classic.house_features`) on a table of records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

NONE = "None"
Table = dict[str, np.ndarray]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _number(v: Any) -> float:
    """``pd.to_numeric(errors="coerce")``: numbers and numeric strings; anything else NaN."""
    if _missing(v) or isinstance(v, bool):
        return float(v) if isinstance(v, bool) else np.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return np.nan


def _category(v: Any, code: bool) -> Any:
    """A string, or None; an integer code 60, 60.0 or "60" becomes "60"."""
    if _missing(v):
        return None
    if code:
        number = _number(v)
        return None if number != number else str(int(number))
    return str(v)


def export(est: Any) -> dict[str, Any]:
    from ai_roadmap.classic import house_features as hf

    return {
        "numeric": list(est.numeric_columns_),
        "categorical": list(est.categorical_columns_),
        "frontage_by_neighbourhood": {
            str(k): float(v) for k, v in est.frontage_by_neighbourhood_.items()
        },
        "frontage_median": est.frontage_median_,
        "medians": {k: float(v) for k, v in est.medians_.items()},
        "modes": {k: str(v) for k, v in est.modes_.items()},
        "ordinal_medians": {k: float(v) for k, v in est.ordinal_medians_.items()},
        "features": [str(c) for c in est.feature_names_out_],
        "add_flags": bool(est.add_flags),
        "na_means_none": list(hf.NA_MEANS_NONE),
        "zero_when_absent": {k: list(v) for k, v in hf.ZERO_WHEN_ABSENT.items()},
        "codes": list(hf.CODES_AS_CATEGORIES),
        "scales": {k: dict(v) for k, v in hf.ORDINAL_SCALES.items()},
        "porches": list(hf.PORCHES),
    }


def make(p: dict[str, Any]) -> Callable[[Table], Table]:
    codes = set(p["codes"])

    def run(t: Table) -> Table:
        f: dict[str, np.ndarray] = {}
        for column in p["numeric"]:
            f[column] = np.array([_number(v) for v in t[column]], dtype=float)
        for column in p["categorical"]:
            code = column in codes
            f[column] = np.array([_category(v, code) for v in t[column]], dtype=object)
        for column in p["na_means_none"]:
            f[column] = np.array([NONE if v is None else v for v in f[column]], dtype=object)
        for flag, areas in p["zero_when_absent"].items():
            absent = np.array([v == NONE for v in f[flag]])
            for column in areas:
                f[column] = np.where(absent & np.isnan(f[column]), 0.0, f[column])
        by = p["frontage_by_neighbourhood"]
        frontage = np.array(
            [
                by.get(v, p["frontage_median"]) if v is not None else p["frontage_median"]
                for v in f["Neighborhood"]
            ]
        )
        f["LotFrontage"] = np.where(np.isnan(f["LotFrontage"]), frontage, f["LotFrontage"])
        for column, median in p["medians"].items():  # gaps that do not mean "none"
            f[column] = np.where(np.isnan(f[column]), median, f[column])
        for column, mode in p["modes"].items():
            f[column] = np.array([mode if v is None else v for v in f[column]], dtype=object)
        new: dict[str, np.ndarray] = {}
        for column, scale in p["scales"].items():
            mapped = np.array([scale.get(v, np.nan) for v in f[column]], dtype=float)
            new[column] = np.where(np.isnan(mapped), p["ordinal_medians"][column], mapped)
        with np.errstate(invalid="ignore"):
            keep = f["GarageYrBlt"] <= f["YrSold"] + 1
        new["GarageYrBlt"] = np.where(keep, f["GarageYrBlt"], f["YearRemodAdd"])
        new["TotalSF"] = f["TotalBsmtSF"] + f["1stFlrSF"] + f["2ndFlrSF"]
        new["TotalBathrooms"] = (
            f["FullBath"] + 0.5 * f["HalfBath"] + f["BsmtFullBath"] + 0.5 * f["BsmtHalfBath"]
        )
        new["TotalPorchSF"] = np.sum([f[c] for c in p["porches"]], axis=0)
        new["YearsSinceBuilt"] = f["YrSold"] - f["YearBuilt"]
        new["YearsSinceRemod"] = f["YrSold"] - f["YearRemodAdd"]
        new["OverallQualSF"] = f["OverallQual"] * new["TotalSF"]
        if p["add_flags"]:
            new["HasBasement"] = (f["BsmtQual"] != NONE).astype(float)
            new["HasGarage"] = (f["GarageType"] != NONE).astype(float)
            new["HasFireplace"] = (f["FireplaceQu"] != NONE).astype(float)
            new["HasPool"] = (f["PoolQC"] != NONE).astype(float)
            new["Has2ndFloor"] = (f["2ndFlrSF"] > 0).astype(float)
            new["Remodelled"] = (f["YearRemodAdd"] != f["YearBuilt"]).astype(float)
            new["IsNew"] = (f["YrSold"] <= f["YearBuilt"]).astype(float)
        f.update(new)
        return {c: f[c] for c in p["features"]}

    return run
