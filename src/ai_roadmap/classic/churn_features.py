"""Churn features — the raw Telco table → model inputs, for the baseline and for LightGBM.

Two feature sets, one per model:

* **Baseline** (:func:`build_baseline`): the columns that are numeric in the raw
  table and nothing else — ``tenure``, ``monthly_charges``, ``total_charges`` and
  the six 0/1 flags — median-imputed and standardised, ``z = (x − μ̂) / σ̂``, into
  an L2 logistic regression ``p = σ(w·z + b)``. No category, no interaction: the
  score a team gets before any feature work.
* **LightGBM** (:class:`ChurnFeatures`): the raw columns plus engineered ones.
  Every statistic is learned in ``fit`` (on the training rows only):

  - ``tenure_bucket``: index of the tenure quantile bin, edges = the fit rows'
    ``q/n`` quantiles, ``q = 1..n−1`` (``n = n_tenure_buckets``);
  - ``charges_per_month = total / max(tenure, 1)``, the average bill so far;
  - ``charges_gap = monthly × tenure − total``: positive when today's bill is
    above the average one (a price rise — a classic churn trigger);
  - ``n_addons``: how many of the six add-on services are "Yes";
  - ``contract_payment``: the contract × payment-method pair as one category;
  - every text column as a pandas ``category`` with the levels seen in fit, so
    LightGBM splits on it natively (a level unseen in fit becomes missing,
    which LightGBM sends down its default branch instead of failing).

  A missing ``total_charges`` (11 customers with zero tenure, never billed) is
  ``monthly × tenure`` (= 0 for them); a missing number elsewhere takes the fit
  rows' median.

**Attribution** (:func:`contributions`): per feature, LightGBM's split gain and
the mean |TreeSHAP contribution| ``φ_j`` from ``predict(..., pred_contrib=True)``,
where ``logit p(x) = φ_0 + Σ_j φ_j(x)`` (Lundberg et al. 2020, Nat. Mach. Intell.).

A saved churn pipeline names this module's classes, and a service unpickling it
imports this module: it imports nothing beyond the ``serve`` extra at module top.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

LABEL = "churn"
# numeric in the raw table: what the baseline may use
NUMERIC = ("tenure", "monthly_charges", "total_charges")
FLAGS = (
    "female",
    "senior_citizen",
    "partner",
    "dependents",
    "phone_service",
    "paperless_billing",
)
BASELINE_COLUMNS = NUMERIC + FLAGS
CATEGORICAL = (
    "multiple_lines",
    "internet_service",
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
    "contract",
    "payment_method",
)
ADDONS = (
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
)
ENGINEERED_NUMERIC = ("tenure_bucket", "charges_per_month", "charges_gap", "n_addons")
INTERACTION = "contract_payment"


# ---------------------------------------------------------------------------
# The baseline: raw numeric columns, standardised, logistic regression
# ---------------------------------------------------------------------------


def build_baseline(C: float = 1.0, max_iter: int = 2000) -> Pipeline:
    """``select(BASELINE_COLUMNS) → median impute → standardise → LogisticRegression(C)``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    select = ColumnTransformer([("numeric", numeric, list(BASELINE_COLUMNS))], remainder="drop")
    return Pipeline([("select", select), ("logreg", LogisticRegression(C=C, max_iter=max_iter))])


def build_full_logreg(C: float = 1.0, max_iter: int = 2000) -> Pipeline:
    """A reference, not the baseline: :class:`ChurnFeatures` → one-hot + standardise → logreg.

    It shows how much of LightGBM's lift comes from the features (all columns,
    engineered ones included) rather than from boosting itself.
    """
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = ColumnTransformer(
        [
            ("numbers", StandardScaler(), make_column_selector(dtype_include="number")),
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
        ]
    )
    return Pipeline(
        [
            ("features", ChurnFeatures()),
            ("encode", encode),
            ("logreg", LogisticRegression(C=C, max_iter=max_iter)),
        ]
    )


# ---------------------------------------------------------------------------
# Engineered features for LightGBM
# ---------------------------------------------------------------------------


def _fill_total(X: pd.DataFrame, medians: dict[str, float]) -> pd.DataFrame:
    """Numbers as float; missing total = monthly × tenure, other gaps = the fit medians."""
    numbers = X[list(NUMERIC)].astype(float)
    for column in ("tenure", "monthly_charges"):
        numbers[column] = numbers[column].fillna(medians[column])
    expected = numbers["monthly_charges"] * numbers["tenure"]
    numbers["total_charges"] = numbers["total_charges"].fillna(expected)
    return numbers


def _pair(X: pd.DataFrame) -> pd.Series:
    """The pair "contract | payment_method", missing when either is."""
    contract, payment = X["contract"].astype(object), X["payment_method"].astype(object)
    pair = contract.astype(str) + " | " + payment.astype(str)
    return pair.where(contract.notna() & payment.notna())


class ChurnFeatures(TransformerMixin, BaseEstimator):
    """Raw Telco columns (the table less ``churn``) → a DataFrame for LightGBM.

    Learned in ``fit``: ``medians_`` (tenure, monthly charges), ``tenure_edges_``
    (the inner quantile edges of tenure) and ``categories_`` (the levels of every
    categorical column and of ``contract_payment``). ``transform`` only applies them.

    Parameters
    ----------
    n_tenure_buckets: number of tenure quantile bins (ties may merge some edges).
    """

    def __init__(self, n_tenure_buckets: int = 6) -> None:
        self.n_tenure_buckets = n_tenure_buckets

    def fit(self, X: pd.DataFrame, y: Any = None) -> ChurnFeatures:
        if self.n_tenure_buckets < 1:
            raise ValueError(f"n_tenure_buckets must be >= 1, got {self.n_tenure_buckets}")
        missing = set(NUMERIC + FLAGS + CATEGORICAL) - set(X.columns)
        if missing:
            raise ValueError(f"ChurnFeatures: columns missing from the table: {sorted(missing)}")
        self.medians_ = {
            column: float(X[column].astype(float).median())
            for column in ("tenure", "monthly_charges")
        }
        tenure = X["tenure"].astype(float).fillna(self.medians_["tenure"])
        inner = np.arange(1, self.n_tenure_buckets) / self.n_tenure_buckets
        self.tenure_edges_ = np.unique(np.quantile(tenure, inner))
        self.categories_ = {
            column: sorted(X[column].dropna().astype(object).astype(str).unique())
            for column in CATEGORICAL
        }
        self.categories_[INTERACTION] = sorted(_pair(X).dropna().unique())
        self.feature_names_out_ = np.array(
            [*NUMERIC, *FLAGS, *ENGINEERED_NUMERIC, *CATEGORICAL, INTERACTION], dtype=object
        )
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        numbers = _fill_total(X, self.medians_)
        tenure, monthly, total = (numbers[c] for c in NUMERIC)
        out = pd.DataFrame(index=X.index)
        for column in NUMERIC:
            out[column] = numbers[column]
        for column in FLAGS:
            out[column] = X[column].astype(float)
        # searchsorted(side="right"): tenure equal to an edge goes to the upper bin
        out["tenure_bucket"] = np.searchsorted(self.tenure_edges_, tenure, side="right")
        out["charges_per_month"] = total / np.maximum(tenure, 1.0)
        out["charges_gap"] = monthly * tenure - total
        out["n_addons"] = (X[list(ADDONS)].astype(object) == "Yes").sum(axis=1).astype(float)
        for column in CATEGORICAL:
            out[column] = self._category(X[column].astype(object), column)
        out[INTERACTION] = self._category(_pair(X), INTERACTION)
        return out

    def _category(self, values: pd.Series, column: str) -> pd.Series:
        # fixed levels: the same code for a level at fit and at predict; unseen -> NaN
        levels = self.categories_[column]
        return pd.Series(pd.Categorical(values, categories=levels), index=values.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return self.feature_names_out_.copy()


# ---------------------------------------------------------------------------
# What the fitted model makes of the features
# ---------------------------------------------------------------------------


def contributions(pipeline: Pipeline, X: pd.DataFrame) -> pd.DataFrame:
    """Gain importance and mean |TreeSHAP contribution| (log-odds) per feature on ``X``."""
    features, model = pipeline[0], pipeline[-1]
    booster = model.booster_
    # (n, d + 1): one column per feature, the last is the expected value (bias)
    contrib = model.predict(features.transform(X), pred_contrib=True)
    table = pd.DataFrame(
        {
            "feature": booster.feature_name(),
            "gain": booster.feature_importance(importance_type="gain"),
            "mean_abs_contribution": np.abs(contrib[:, :-1]).mean(axis=0),
        }
    )
    return table.sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
