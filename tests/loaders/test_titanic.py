"""The pulled Titanic split: schema, sizes, labels, no passenger twice, no leaky columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap.datasets.titanic import KAGGLE_COLUMNS, Titanic, load_titanic, match_key

pytestmark = pytest.mark.data

INTEGER_COLUMNS = ["PassengerId", "Pclass", "SibSp", "Parch"]
FLOAT_COLUMNS = ["Age", "Fare"]
TEXT_COLUMNS = ["Name", "Sex", "Ticket", "Cabin", "Embarked"]


@pytest.fixture
def titanic(roadmap_home: Path, data_home: Path) -> Titanic:
    return load_titanic()


def test_schema_and_dtypes(titanic: Titanic) -> None:
    assert set(titanic.train.columns) == {*KAGGLE_COLUMNS, "Survived"}
    assert list(titanic.test.columns) == KAGGLE_COLUMNS
    for frame in (titanic.train, titanic.test):
        for column in INTEGER_COLUMNS:
            assert pd.api.types.is_integer_dtype(frame[column]), column
        for column in FLOAT_COLUMNS:
            assert pd.api.types.is_float_dtype(frame[column]), column
        for column in TEXT_COLUMNS:
            assert pd.api.types.is_string_dtype(frame[column]), column
        assert frame[["PassengerId", "Pclass", "Name", "Sex", "Ticket"]].notna().all().all()
        assert set(frame["Pclass"]) == {1, 2, 3}
        assert set(frame["Sex"]) == {"male", "female"}
        assert set(frame["Embarked"].dropna()) == {"S", "C", "Q"}


def test_sizes_and_labels(titanic: Titanic) -> None:
    assert len(titanic.train) == 891
    assert len(titanic.test) == len(titanic.test_labels) == 418
    assert set(titanic.train["Survived"]) == {0, 1}
    assert set(titanic.test_labels) == {0, 1}
    assert pd.api.types.is_integer_dtype(titanic.test_labels)


def test_no_passenger_in_both_or_twice(titanic: Titanic) -> None:
    train_keys = match_key(titanic.train["Name"], titanic.train["Ticket"])
    test_keys = match_key(titanic.test["Name"], titanic.test["Ticket"])
    assert not train_keys.duplicated().any() and not test_keys.duplicated().any()
    assert set(train_keys).isdisjoint(test_keys)
    assert titanic.train["PassengerId"].tolist() == list(range(1, 892))
    assert titanic.test["PassengerId"].tolist() == list(range(892, 1310))


def test_leaky_titanic3_columns_are_dropped(titanic: Titanic) -> None:
    for frame in (titanic.train, titanic.test):
        lowered = {c.lower() for c in frame.columns}
        assert lowered.isdisjoint({"boat", "body", "home.dest"})


def test_survival_rates_match_titanic3(titanic: Titanic) -> None:
    # titanic3 has 500 survivors among 1 309 passengers; Kaggle's train holds 342 of them
    assert int(titanic.train["Survived"].sum()) == 342
    assert int(titanic.test_labels.sum()) == 500 - 342
    assert titanic.test_labels.mean() == pytest.approx(158 / 418)  # 0.37799
