"""The pulled Kaggle House Prices split: sizes, schema, prices, no house in both halves."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap.datasets.house import HousePrices, load_house_prices

pytestmark = pytest.mark.data


@pytest.fixture
def house(roadmap_home: Path, data_home: Path) -> HousePrices:
    return load_house_prices()


def test_sizes(house: HousePrices) -> None:
    assert house.train.shape == (1460, 81)
    assert house.test.shape == (1459, 80)


def test_test_columns_are_train_columns_without_the_price(house: HousePrices) -> None:
    assert list(house.test.columns) == [c for c in house.train.columns if c != "SalePrice"]
    assert house.train.columns[0] == "Id" and house.train.columns[-1] == "SalePrice"


def test_prices_are_positive_whole_dollars(house: HousePrices) -> None:
    price = house.train["SalePrice"]
    assert pd.api.types.is_integer_dtype(price)
    assert price.notna().all() and (price > 0).all()
    # Kaggle's published range: $34 900 … $755 000
    assert price.min() == 34900 and price.max() == 755000


def test_ids_are_unique_and_disjoint(house: HousePrices) -> None:
    train_ids, test_ids = house.train["Id"], house.test["Id"]
    assert train_ids.is_unique and test_ids.is_unique
    assert set(train_ids).isdisjoint(test_ids)
    assert train_ids.tolist() == list(range(1, 1461))
    assert test_ids.tolist() == list(range(1461, 2920))


def test_key_columns_are_complete_numbers(house: HousePrices) -> None:
    for frame in (house.train, house.test):
        for column in ("MSSubClass", "LotArea", "OverallQual", "YearBuilt", "GrLivArea", "YrSold"):
            assert pd.api.types.is_numeric_dtype(frame[column]), column
            assert frame[column].notna().all(), column
        assert frame["OverallQual"].between(1, 10).all()
        assert frame["Neighborhood"].notna().all()


def test_the_two_documented_outliers(house: HousePrices) -> None:
    # s2.house leaves these out of every fit: GrLivArea > 4 000 sq ft sold below $300 000
    train = house.train
    outliers = train[(train["GrLivArea"] > 4000) & (train["SalePrice"] < 300000)]
    assert outliers["Id"].tolist() == [524, 1299]
    assert set(outliers["SaleCondition"]) == {"Partial"}
