"""MovieLens as a recommender's log: item features and a per-user time-ordered split.

The split is **per user, by time**: each user's ratings sorted by timestamp, the
last ``n_test`` are the test window, the ``n_val`` before them the validation
window (the ranker learns on it), the rest is history. A global time cut would
be the stricter choice, but in this release most users who rate after a late
cut have no earlier ratings at all (cold start), which leaves too few users to
measure retrieval; the price of the per-user cut is that other users' later
ratings sit in the training history (the popularity features are therefore
computed only from ratings up to each user's own cut). Any rating counts as an
interaction (implicit feedback): the task is to predict what a user watches next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

YEAR_CENTRE, YEAR_SCALE = 1990.0, 20.0


@dataclass(frozen=True)
class Catalogue:
    """Item side: movieId ↔ index, genre multi-hot rows and a scaled release year."""

    movie_ids: np.ndarray  # index → movieId
    genres: np.ndarray  # (N, G) float32 multi-hot
    genre_names: list[str]
    year: np.ndarray  # (N, 2) float32: (year − 1990) / 20 (0 when unknown), unknown flag

    @property
    def n_items(self) -> int:
        return int(self.movie_ids.size)

    @classmethod
    def from_movies(cls, movies: pd.DataFrame) -> Catalogue:
        movies = movies.sort_values("movieId")
        lists = movies["genres"].str.split("|")
        names = sorted({g for gs in lists for g in gs})
        col = {g: j for j, g in enumerate(names)}
        genres = np.zeros((len(movies), len(names)), dtype=np.float32)
        for i, gs in enumerate(lists):
            genres[i, [col[g] for g in gs]] = 1.0
        raw = movies["year"].to_numpy(dtype=np.float64)
        known = ~np.isnan(raw)
        year = np.stack(
            [np.where(known, (raw - YEAR_CENTRE) / YEAR_SCALE, 0.0), (~known).astype(float)], 1
        ).astype(np.float32)
        return cls(movies["movieId"].to_numpy(), genres, names, year)

    def index(self, movie_ids: pd.Series) -> np.ndarray:
        return np.searchsorted(self.movie_ids, movie_ids.to_numpy())


@dataclass(frozen=True)
class Split:
    """Ratings with an ``item`` index and a ``user`` index, cut into three windows."""

    history: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    n_users: int


def time_split(ratings: pd.DataFrame, cat: Catalogue, n_test: int, n_val: int) -> Split:
    """Each user's last ``n_test`` ratings by time → test, the ``n_val`` before → val."""
    frame = ratings.assign(item=cat.index(ratings["movieId"]))
    users = np.sort(frame["userId"].unique())
    frame["user"] = np.searchsorted(users, frame["userId"].to_numpy())
    frame = frame.sort_values(["user", "timestamp", "item"], kind="stable")
    from_end = frame.groupby("user").cumcount(ascending=False)
    test = frame[from_end < n_test]
    val = frame[(from_end >= n_test) & (from_end < n_test + n_val)]
    history = frame[from_end >= n_test + n_val]
    return Split(history, val, test, int(users.size))


def matrix(frame: pd.DataFrame, n_users: int, n_items: int) -> sparse.csr_matrix:
    """Binary user × item interaction matrix."""
    data = np.ones(len(frame), dtype=np.float32)
    m = sparse.csr_matrix((data, (frame["user"], frame["item"])), shape=(n_users, n_items))
    m.data[:] = 1.0
    return m


def item_sets(frame: pd.DataFrame, n_users: int) -> list[set[int]]:
    """Per user index, the set of item indices in ``frame``."""
    sets: list[set[int]] = [set() for _ in range(n_users)]
    for u, i in zip(frame["user"].to_numpy(), frame["item"].to_numpy(), strict=True):
        sets[u].add(int(i))
    return sets
