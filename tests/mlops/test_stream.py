"""The simulated stream and the schema gate: each named drift moves what it should and nothing
else; a schema-breaking batch fails with a reason naming the column and is quarantined whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ai_roadmap.artifacts import infer_input_schema
from ai_roadmap.datasets.churn import load_telco
from ai_roadmap.mlops.drift import feature_drift
from ai_roadmap.mlops.schema import pandera_schema, quarantine, validate
from ai_roadmap.mlops.stream import LABEL, Injection, make_month, split_reference

pytestmark = pytest.mark.data
ROWS = 300


@pytest.fixture(scope="module")
def parts() -> tuple[pd.DataFrame, pd.DataFrame]:
    table, _ = load_telco()
    return split_reference(table, 2500, seed=0)


@pytest.fixture(scope="module")
def schema(parts: tuple[pd.DataFrame, pd.DataFrame]) -> object:
    X = parts[0].drop(columns=LABEL)
    return pandera_schema(infer_input_schema(X), X.isna().mean().to_dict())


def _month(parts: tuple[pd.DataFrame, pd.DataFrame], kind: str, index: int = 1) -> pd.DataFrame:
    return make_month(parts[1], index, kind, ROWS, Injection(), seed=0).frame


def _index(parts: tuple[pd.DataFrame, pd.DataFrame], frame: pd.DataFrame) -> dict[str, float]:
    return {d.feature: d.value for d in feature_drift(parts[0], frame)}


def test_reference_and_months_are_disjoint_and_seeded(parts: tuple) -> None:
    reference, pool = parts
    assert len(reference) == 2500 and not set(reference.index) & set(pool.index)
    again = make_month(pool, 3, "clean", ROWS, Injection(), seed=0).frame
    assert again.equals(_month(parts, "clean", 3))
    assert not _month(parts, "clean", 4).index.equals(again.index)


def test_each_drift_moves_its_own_columns(parts: tuple) -> None:
    reference = parts[0]
    clean = _index(parts, _month(parts, "clean"))
    assert max(clean.values()) < 0.25
    shifted = _month(parts, "tenure_charges")
    assert shifted["tenure"].median() < reference["tenure"].median()
    assert _index(parts, shifted)["tenure"] > 0.25
    mix = _month(parts, "contract_mix")
    share = (mix["contract"] == "Month-to-month").mean()
    assert share > (reference["contract"] == "Month-to-month").mean() + 0.2
    assert _index(parts, mix)["contract"] > 0.25
    labels = _month(parts, "label_drift")
    assert labels[LABEL].mean() == pytest.approx(0.55, abs=1 / ROWS)
    moved = _index(parts, labels)
    assert moved[LABEL] > 0.25 and max(v for k, v in moved.items() if k != LABEL) < 0.25


def test_a_clean_month_passes_the_schema(parts: tuple, schema: object) -> None:
    check = validate(_month(parts, "clean").drop(columns=LABEL), schema)
    assert check.ok and check.reason == ""


@pytest.mark.parametrize(
    ("kind", "says"), [("null_column", "not_nullable"), ("unit_change", "in_range")]
)
def test_a_broken_column_fails_the_schema_naming_it(
    parts: tuple, schema: object, kind: str, says: str
) -> None:
    check = validate(_month(parts, kind).drop(columns=LABEL), schema)
    assert not check.ok
    assert f"monthly_charges: {says}" in check.reason and "tenure" not in check.reason


def test_a_nullable_column_arriving_all_null_still_fails(parts: tuple, schema: object) -> None:
    batch = _month(parts, "clean").drop(columns=LABEL)
    assert parts[0]["total_charges"].isna().any()  # nulls are allowed in this column
    batch["total_charges"] = np.nan
    check = validate(batch, schema)
    assert not check.ok and "total_charges: missing share above" in check.reason


def test_quarantine_writes_the_batch_and_its_reason(parts: tuple, tmp_path: Path) -> None:
    batch = _month(parts, "null_column")
    folder = quarantine(batch, "monthly_charges: not_nullable (300 failing)", tmp_path / "m03")
    assert sorted(p.name for p in folder.iterdir()) == ["batch.parquet", "reason.txt"]
    assert pd.read_parquet(folder / "batch.parquet").equals(batch)
    assert "not_nullable" in (folder / "reason.txt").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["m03"]  # no temporary folder left
