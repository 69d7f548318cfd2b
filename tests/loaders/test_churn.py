"""The pulled Telco churn table: schema, dtypes, size, label, nulls, repeated rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap.classic.churn_features import CATEGORICAL, FLAGS, LABEL
from ai_roadmap.datasets.churn import load_telco

pytestmark = pytest.mark.data

LEVELS = {
    "multiple_lines": {"No", "Yes", "No phone service"},
    "internet_service": {"DSL", "Fiber optic", "No"},
    "contract": {"Month-to-month", "One year", "Two year"},
    "payment_method": {
        "Electronic check",
        "Mailed check",
        "Bank transfer (automatic)",
        "Credit card (automatic)",
    },
}
ADDON_LEVELS = {"No", "Yes", "No internet service"}


@pytest.fixture
def telco(roadmap_home: Path, data_home: Path) -> pd.DataFrame:
    frame, source = load_telco()
    assert source.startswith("IBM Telco churn")
    return frame


def test_schema_and_dtypes(telco: pd.DataFrame) -> None:
    expected = {LABEL, "tenure", "monthly_charges", "total_charges", *FLAGS, *CATEGORICAL}
    assert set(telco.columns) == expected and len(telco.columns) == 20
    assert pd.api.types.is_integer_dtype(telco["tenure"])
    for column in ("monthly_charges", "total_charges"):
        assert pd.api.types.is_float_dtype(telco[column]), column
    for column in FLAGS:
        assert pd.api.types.is_integer_dtype(telco[column]), column
        assert set(telco[column]) == {0, 1}, column
    for column in CATEGORICAL:
        assert pd.api.types.is_string_dtype(telco[column]), column
        assert set(telco[column]) == LEVELS.get(column, ADDON_LEVELS), column


def test_size_and_label(telco: pd.DataFrame) -> None:
    assert len(telco) == 7043
    assert pd.api.types.is_integer_dtype(telco[LABEL])
    assert set(telco[LABEL]) == {0, 1}
    assert int(telco[LABEL].sum()) == 1869  # IBM's published count of churned customers
    assert telco[LABEL].mean() == pytest.approx(1869 / 7043)


def test_only_unbilled_customers_lack_total_charges(telco: pd.DataFrame) -> None:
    missing = telco["total_charges"].isna()
    assert telco.drop(columns="total_charges").notna().all().all()
    assert int(missing.sum()) == 11
    assert (telco.loc[missing, "tenure"] == 0).all() and (telco["tenure"] == 0).sum() == 11
    assert telco["tenure"].between(0, 72).all()
    assert telco["monthly_charges"].between(18, 120).all()


def test_repeated_rows_are_new_identical_customers(telco: pd.DataFrame) -> None:
    # There is no customer id, so a repeated row cannot be told from a copied one. The repeats
    # (< 1 %) are all one-month month-to-month customers on the same plan and bill, some of
    # them with different labels: distinct customers who look alike, kept as they are.
    features = telco.drop(columns=LABEL)
    repeated = telco[features.duplicated(keep=False)]
    assert features.duplicated().sum() < 0.01 * len(telco)
    assert (repeated["tenure"] == 1).all()
    assert (repeated["contract"] == "Month-to-month").all()
