"""Kaggle House Prices (Ames, Iowa): 1 460 training houses with SalePrice, 1 459 test houses.

The Kaggle CSVs ship inside the PyPI ``dataprep`` wheel, unchanged; they are
converted once to Parquet. Your own Kaggle download works too: put
``train.csv`` and ``test.csv`` in ``ROADMAP_DATA_DIR/house-prices/``.
Kaggle keeps the test prices private, so the milestone's figure is the
cross-validated RMSLE on the training houses; the test houses get a submission.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ai_roadmap.datasets import require, user_file
from ai_roadmap.datasets.titanic import read_csv_checked

TRAIN_MEMBER = "dataprep/datasets/data/house_prices_train.csv"
TEST_MEMBER = "dataprep/datasets/data/house_prices_test.csv"
KEY_COLUMNS = ["Id", "MSSubClass", "LotArea", "OverallQual", "YearBuilt", "GrLivArea"]


@dataclass
class HousePrices:
    train: pd.DataFrame  # 1 460 rows, 81 columns incl. SalePrice
    test: pd.DataFrame  # 1 459 rows, 80 columns
    source: str


def convert(members: dict[str, Path], out: Path) -> None:
    pd.read_csv(members[TRAIN_MEMBER]).to_parquet(out / "train.parquet", index=False)
    pd.read_csv(members[TEST_MEMBER]).to_parquet(out / "test.parquet", index=False)


def load_house_prices() -> HousePrices:
    """Train and test frames, from the user's Kaggle CSVs if given, else the pulled copy."""
    user_train = user_file("house-prices", "train.csv")
    user_test = user_file("house-prices", "test.csv")
    if user_train and user_test:
        return HousePrices(
            train=read_csv_checked(user_train, [*KEY_COLUMNS, "SalePrice"]),
            test=read_csv_checked(user_test, KEY_COLUMNS),
            source=f"user files in {user_train.parent}",
        )
    folder = require("house-prices")
    return HousePrices(
        train=pd.read_parquet(folder / "train.parquet"),
        test=pd.read_parquet(folder / "test.parquet"),
        source="kaggle house prices (dataprep 0.4.1)",
    )
