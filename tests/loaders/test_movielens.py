"""The pulled MovieLens table: GroupLens' published counts, schema, one rating per pair."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap.datasets.movielens import load_movielens

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def movielens(data_home: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_movielens()


def test_counts_and_schema(movielens: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ratings, movies = movielens
    assert list(ratings.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert list(movies.columns) == ["movieId", "title", "year", "genres"]
    assert len(ratings) == 100_004
    assert ratings["userId"].nunique() == 671 and ratings["movieId"].nunique() == 9066
    assert len(movies) == 9066 and movies["movieId"].is_unique
    assert set(ratings["movieId"]) == set(movies["movieId"])


def test_values_are_movielens_ratings(movielens: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    ratings, movies = movielens
    assert set(ratings["rating"].unique()) <= {x / 2 for x in range(1, 11)}
    assert not ratings.duplicated(["userId", "movieId"]).any()
    assert ratings["timestamp"].is_monotonic_increasing
    days = pd.to_datetime(ratings["timestamp"], unit="s")
    assert days.min().year == 1995 and days.max().year == 2016
    # every user of this release rated at least 20 movies (GroupLens' selection rule)
    assert ratings.groupby("userId").size().min() == 20
    assert movies["genres"].str.contains("Drama").sum() > 1000
