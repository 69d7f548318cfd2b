"""s2.house data preparation, learned inside each cross-validation fold.

Raw Kaggle House Prices columns -> model-ready features, by three transformers
and one row filter, each fitted on the fold's training part only, so that no
statistic comes from the validation fold or from the test houses:

``HouseFeatures``
    Missing values by meaning, then engineered features. In Kaggle's data
    description "NA" in ``Alley``, ``BsmtQual`` …, ``PoolQC``, ``Fence`` or
    ``MiscFeature`` means "no such feature", so it becomes the category "None"
    and the matching areas and counts become 0. ``LotFrontage`` is filled with
    the median of the house's neighbourhood, learned in ``fit``; any other gap
    gets the fit median (numbers) or the fit mode (categories). Quality scales
    become ordinal numbers (Ex 5, Gd 4, TA 3, Fa 2, Po 1, None 0), and totals
    (floor area, bathrooms, porches) and ages at sale are added.

``SkewedLog1p``
    The numeric columns whose sample skewness in ``fit`` exceeds a threshold
    get ``sign(x) log(1 + |x|)``; a linear model then sees roughly symmetric
    inputs instead of a few huge lots dominating the squared loss.

``ClipToFitRange``
    Each numeric column clipped to its fit range, so a linear model does not
    extrapolate far beyond the houses it was fitted on.

``DropTrainingOutliers``
    A meta-estimator that fits its regressor without two known bad sales.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, TransformerMixin, clone

NONE = "None"
# Kaggle's data description: NA here means the house has no such feature.
NA_MEANS_NONE = (
    "Alley", "BsmtQual", "BsmtCond", "BsmtExposure", "BsmtFinType1", "BsmtFinType2",
    "FireplaceQu", "GarageType", "GarageFinish", "GarageQual", "GarageCond", "PoolQC",
    "Fence", "MiscFeature", "MasVnrType",
)  # fmt: skip
# Areas and counts of a feature the house does not have: 0, keyed by the column that says so.
ZERO_WHEN_ABSENT = {
    "BsmtQual": ("BsmtFinSF1", "BsmtFinSF2", "BsmtUnfSF", "TotalBsmtSF", "BsmtFullBath",
                 "BsmtHalfBath"),
    "GarageType": ("GarageCars", "GarageArea"),
    "MasVnrType": ("MasVnrArea",),
}  # fmt: skip
# Integer codes without an order (MSSubClass: dwelling type; MoSold: month of sale).
CODES_AS_CATEGORIES = ("MSSubClass", "MoSold")

QUALITY = {"Ex": 5, "Gd": 4, "TA": 3, "Fa": 2, "Po": 1, NONE: 0}
QUALITY_COLUMNS = (
    "ExterQual", "ExterCond", "BsmtQual", "BsmtCond", "HeatingQC", "KitchenQual",
    "FireplaceQu", "GarageQual", "GarageCond", "PoolQC",
)  # fmt: skip
FINISH_TYPE = {"GLQ": 6, "ALQ": 5, "BLQ": 4, "Rec": 3, "LwQ": 2, "Unf": 1, NONE: 0}
ORDINAL_SCALES: dict[str, dict[str, int]] = {
    **dict.fromkeys(QUALITY_COLUMNS, QUALITY),
    "BsmtExposure": {"Gd": 4, "Av": 3, "Mn": 2, "No": 1, NONE: 0},
    "BsmtFinType1": FINISH_TYPE,
    "BsmtFinType2": FINISH_TYPE,
    "GarageFinish": {"Fin": 3, "RFn": 2, "Unf": 1, NONE: 0},
    "Functional": {"Typ": 7, "Min1": 6, "Min2": 5, "Mod": 4, "Maj1": 3, "Maj2": 2, "Sev": 1,
                   "Sal": 0},
    "PavedDrive": {"Y": 2, "P": 1, "N": 0},
}  # fmt: skip
PORCHES = ("OpenPorchSF", "EnclosedPorch", "3SsnPorch", "ScreenPorch")
DROPPED = ("Id", "SalePrice")


class HouseFeatures(TransformerMixin, BaseEstimator):
    """Raw Kaggle columns (with or without ``Id``) -> a DataFrame of numbers and categories.

    Learned in ``fit`` from the fit rows only: which input columns are numeric
    and which categorical, the median ``LotFrontage`` per ``Neighborhood`` (and
    overall), the median of every numeric and the mode of every categorical
    input column (for gaps that do not mean "none") and the median level of
    every ordinal scale (for a level fit never saw). Categories never seen in
    ``fit`` pass through unchanged; the one-hot encoder downstream ignores them.

    Parameters
    ----------
    add_flags: also output 0/1 indicators (HasGarage, HasPool, …, IsNew).
    """

    def __init__(self, add_flags: bool = True) -> None:
        self.add_flags = add_flags

    def fit(self, X: pd.DataFrame, y: Any = None) -> HouseFeatures:
        raw = X.drop(columns=[c for c in DROPPED if c in X.columns])
        is_number = [pd.api.types.is_numeric_dtype(raw[c]) for c in raw.columns]
        codes = set(CODES_AS_CATEGORIES)
        self.numeric_columns_ = [
            c for c, num in zip(raw.columns, is_number, strict=True) if num and c not in codes
        ]
        self.categorical_columns_ = [c for c in raw.columns if c not in self.numeric_columns_]
        frontage = pd.to_numeric(raw["LotFrontage"], errors="coerce")
        neighbourhood = raw["Neighborhood"].astype(object)
        self.frontage_by_neighbourhood_ = (
            frontage.groupby(neighbourhood).median().dropna().to_dict()
        )
        self.frontage_median_ = float(frontage.median())
        frame = self._absent_to_none(raw)
        self.medians_ = frame[self.numeric_columns_].median().fillna(0.0).to_dict()
        self.modes_ = {c: _mode(frame[c]) for c in self.categorical_columns_}
        engineered = self._engineer(self._fill(frame))
        self.ordinal_medians_ = engineered[list(ORDINAL_SCALES)].median().fillna(0.0).to_dict()
        self.feature_names_out_ = np.asarray(engineered.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in (*self.numeric_columns_, *self.categorical_columns_) if c not in X]
        if missing:
            raise ValueError(f"HouseFeatures: input lacks columns {missing}")
        out = self._engineer(self._fill(self._absent_to_none(X)))
        # A quality level fit never saw maps to NaN: give it the fit median level.
        out = out.fillna(self.ordinal_medians_)
        return out[list(self.feature_names_out_)]

    def _fill(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Gaps that do not mean "none": fit median (numbers) or fit mode (categories)."""
        return frame.fillna({**self.medians_, **self.modes_})

    def _absent_to_none(self, X: pd.DataFrame) -> pd.DataFrame:
        """Typed columns; NA -> "None" where it means absent; absent areas -> 0; LotFrontage."""
        numbers = X[self.numeric_columns_].apply(pd.to_numeric, errors="coerce").astype(float)
        columns: dict[str, pd.Series] = {c: numbers[c] for c in numbers.columns}
        for column in self.categorical_columns_:
            columns[column] = _as_category(X[column], code=column in CODES_AS_CATEGORIES)
        for column in NA_MEANS_NONE:
            columns[column] = columns[column].fillna(NONE)
        for flag, areas in ZERO_WHEN_ABSENT.items():
            absent = columns[flag] == NONE
            for column in areas:
                columns[column] = columns[column].mask(absent & columns[column].isna(), 0.0)
        by_neighbourhood = columns["Neighborhood"].map(self.frontage_by_neighbourhood_)
        frontage = by_neighbourhood.astype(float).fillna(self.frontage_median_)
        columns["LotFrontage"] = columns["LotFrontage"].fillna(frontage)
        return pd.DataFrame(columns, index=X.index)

    def _engineer(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Ordinal scales, totals, ages at sale and (optionally) presence flags."""
        new: dict[str, pd.Series] = {}
        for column, scale in ORDINAL_SCALES.items():
            # NaN for a level the scale lacks; filled with the fit median later.
            new[column] = frame[column].map(scale).astype(float)
        # A garage "built" after the sale is a typo in the data (2207): use the remodel year.
        garage_year = frame["GarageYrBlt"].where(frame["GarageYrBlt"] <= frame["YrSold"] + 1)
        new["GarageYrBlt"] = garage_year.fillna(frame["YearRemodAdd"])
        new["TotalSF"] = frame["TotalBsmtSF"] + frame["1stFlrSF"] + frame["2ndFlrSF"]
        new["TotalBathrooms"] = (
            frame["FullBath"]
            + 0.5 * frame["HalfBath"]
            + frame["BsmtFullBath"]
            + 0.5 * frame["BsmtHalfBath"]
        )
        new["TotalPorchSF"] = frame[list(PORCHES)].sum(axis=1, min_count=len(PORCHES))
        new["YearsSinceBuilt"] = frame["YrSold"] - frame["YearBuilt"]
        new["YearsSinceRemod"] = frame["YrSold"] - frame["YearRemodAdd"]
        new["OverallQualSF"] = frame["OverallQual"] * new["TotalSF"]
        if self.add_flags:
            new["HasBasement"] = (frame["BsmtQual"] != NONE).astype(float)
            new["HasGarage"] = (frame["GarageType"] != NONE).astype(float)
            new["HasFireplace"] = (frame["FireplaceQu"] != NONE).astype(float)
            new["HasPool"] = (frame["PoolQC"] != NONE).astype(float)
            new["Has2ndFloor"] = (frame["2ndFlrSF"] > 0).astype(float)
            new["Remodelled"] = (frame["YearRemodAdd"] != frame["YearBuilt"]).astype(float)
            new["IsNew"] = (frame["YrSold"] <= frame["YearBuilt"]).astype(float)
        kept = frame.drop(columns=[c for c in new if c in frame.columns])
        return pd.concat([kept, pd.DataFrame(new, index=frame.index)], axis=1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_out_.copy()


def _as_category(values: pd.Series, code: bool) -> pd.Series:
    """Strings (object dtype, NaN kept); an integer code 60, 60.0 or "60" becomes "60"."""
    values = values.astype(object)
    if code:
        numbers = pd.to_numeric(values, errors="coerce")
        values = numbers.map(lambda number: str(int(number)), na_action="ignore")
    return values.where(values.isna(), values.astype(str)).astype(object)


def _mode(values: pd.Series) -> str:
    counts = values.dropna().value_counts()
    return str(counts.index[0]) if len(counts) else NONE


class SkewedLog1p(TransformerMixin, BaseEstimator):
    """``sign(x) log(1 + |x|)`` on the columns whose fit skewness exceeds ``threshold``.

    Skewness is the adjusted Fisher–Pearson coefficient (pandas ``Series.skew``)::

        G1 = sqrt(n (n − 1)) / (n − 2) · m3 / m2^(3/2),  m_k = (1/n) Σ (x_i − x̄)^k

    The columns are chosen in ``fit`` only; ``transform`` applies the same choice
    to any rows. The signed form equals ``log1p`` for x ≥ 0 and stays finite for
    the odd negative value at transform time.

    Parameters
    ----------
    threshold: columns with |G1| above this are transformed (0.75 is a common choice).
    """

    def __init__(self, threshold: float = 0.75) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> SkewedLog1p:
        frame = pd.DataFrame(X)
        skew = frame.astype(float).skew().fillna(0.0)
        self.skewed_ = np.flatnonzero(skew.abs().to_numpy() > self.threshold)
        self.skewness_ = skew.to_numpy()
        self.columns_ = list(frame.columns)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        is_frame = isinstance(X, pd.DataFrame)
        values = np.array(X, dtype=float)  # a copy, (n, d)
        chosen = values[:, self.skewed_]
        values[:, self.skewed_] = np.sign(chosen) * np.log1p(np.abs(chosen))
        if is_frame:
            return pd.DataFrame(values, columns=X.columns, index=X.index)
        return values

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        names = input_features if input_features is not None else self.columns_
        return np.asarray(names, dtype=object)


class ClipToFitRange(TransformerMixin, BaseEstimator):
    """Clip every column to the [min, max] it spans in ``fit``.

    A linear model extrapolates without limit: a house twice as large as any it
    was fitted on gets twice the size effect, while a tree ensemble stays at its
    last split. Clipping gives the linear model the same saturation at the edge
    of its data.
    """

    def fit(self, X: Any, y: Any = None) -> ClipToFitRange:
        values = np.asarray(X, dtype=float)  # (n, d)
        self.min_, self.max_ = values.min(axis=0), values.max(axis=0)
        self.n_features_in_ = values.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        clipped = np.clip(np.asarray(X, dtype=float), self.min_, self.max_)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(clipped, columns=X.columns, index=X.index)
        return clipped

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features, dtype=object)


class DropTrainingOutliers(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Fit ``estimator`` without the houses larger than ``min_area`` sold below ``max_price``.

    De Cock (2011), who compiled the Ames data, warns of a few very large
    houses whose sales were partial; two of them (GrLivArea > 4 000 sq ft, sold
    for $160 000 and $184 750; the rule's bound is $300 000) sit far below every
    other house of their size and pull a least-squares fit towards them. They
    are dropped from the rows ``fit`` sees — in cross-validation, the training
    folds only — and ``predict`` predicts every house, those two included.
    """

    def __init__(
        self,
        estimator: Any,
        enabled: bool = True,
        area_column: str = "GrLivArea",
        min_area: float = 4000.0,
        max_price: float = 300000.0,
    ) -> None:
        self.estimator = estimator
        self.enabled = enabled
        self.area_column = area_column
        self.min_area = min_area
        self.max_price = max_price

    def outliers(self, X: pd.DataFrame, y: Any) -> np.ndarray:
        """Boolean mask of the rows the rule flags (``fit`` leaves them out when ``enabled``)."""
        area = pd.to_numeric(X[self.area_column], errors="coerce").to_numpy(dtype=float)
        return (area > self.min_area) & (np.asarray(y, dtype=float) < self.max_price)

    def fit(self, X: pd.DataFrame, y: Any) -> DropTrainingOutliers:
        drop = self.outliers(X, y) if self.enabled else np.zeros(len(X), dtype=bool)
        y = pd.Series(np.asarray(y, dtype=float), index=X.index)
        self.dropped_index_ = list(X.index[drop])
        self.estimator_ = clone(self.estimator).fit(X.loc[~drop], y.loc[~drop])
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.estimator_.predict(X)
