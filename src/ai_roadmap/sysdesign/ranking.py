"""The ranking stage: features of each (user, retrieved candidate) pair and a LambdaMART ranker.

Retrieval narrows 9 066 movies to C candidates per user; the ranker re-orders
them with features retrieval cannot afford for every item. Each row is one
(user, candidate) pair; its label is 1 when the user rates the candidate in the
window being predicted. LightGBM's ``lambdarank`` objective (LambdaMART, Burges
2010) weighs each swapped pair's gradient by the |ΔNDCG| the swap causes, so it
optimises NDCG@10 directly. Item popularity is counted **as of each user's cut**
(ratings up to the user's last history timestamp), so no feature looks ahead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

FEATURES = [
    "tower_score",
    "tower_rank",
    "svd_score",
    "pop_all",
    "pop_recent",
    "item_mean_rating",
    "item_year",
    "year_gap",
    "genre_match",
    "user_history",
    "user_mean_rating",
]
RECENT_DAYS = 365


@dataclass(frozen=True)
class RankerConfig:
    candidates: int = 100
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    seed: int = 0
    n_jobs: int = 2


def candidate_features(
    history: pd.DataFrame,
    hist_matrix: sparse.csr_matrix,
    candidates: np.ndarray,
    tower_scores: np.ndarray,
    svd_scores: np.ndarray,
    genres: np.ndarray,
    year: np.ndarray,
) -> pd.DataFrame:
    """One row per (user, candidate): rows of user 0 first, candidates in retrieval order."""
    n_users, c = candidates.shape
    user = np.repeat(np.arange(n_users), c)
    item = candidates.ravel()
    cut = history.groupby("user")["timestamp"].max().reindex(range(n_users)).fillna(0).to_numpy()
    pop_all, pop_recent = _popularity_as_of(history, user, item, cut[user])
    item_mean = history.groupby("item")["rating"].mean()
    profile = _normalise(hist_matrix @ genres)
    user_year = _mean_year(hist_matrix, year[:, 0])
    counts = np.asarray(hist_matrix.sum(1)).ravel()
    user_mean = history.groupby("user")["rating"].mean().reindex(range(n_users))
    return pd.DataFrame(
        {
            "user": user,
            "item": item,
            "tower_score": tower_scores[user, item],
            "tower_rank": np.tile(np.arange(c), n_users),
            "svd_score": svd_scores[user, item],
            "pop_all": np.log1p(pop_all),
            "pop_recent": np.log1p(pop_recent),
            "item_mean_rating": pd.Series(item).map(item_mean).to_numpy(),
            "item_year": np.where(year[item, 1] > 0, np.nan, year[item, 0]),
            "year_gap": np.abs(year[item, 0] - user_year[user]),
            "genre_match": (profile[user] * _normalise(genres[item])).sum(1),
            "user_history": np.log1p(counts[user]),
            "user_mean_rating": user_mean.to_numpy()[user],
        }
    )


def _popularity_as_of(
    history: pd.DataFrame, user: np.ndarray, item: np.ndarray, cut: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ratings of ``item`` with timestamp ≤ ``cut`` (all, and within RECENT_DAYS)."""
    ordered = history.sort_values(["item", "timestamp"])
    times = ordered["timestamp"].to_numpy()
    starts = np.searchsorted(ordered["item"].to_numpy(), np.arange(item.max() + 2))
    lo, hi = starts[item], starts[item + 1]
    upto = np.array(
        [np.searchsorted(times[a:b], t, side="right") for a, b, t in zip(lo, hi, cut, strict=True)]
    )
    since = cut - RECENT_DAYS * 86_400
    before = np.array(
        [
            np.searchsorted(times[a:b], t, side="right")
            for a, b, t in zip(lo, hi, since, strict=True)
        ]
    )
    return upto.astype(float), (upto - before).astype(float)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _mean_year(hist_matrix: sparse.csr_matrix, year: np.ndarray) -> np.ndarray:
    counts = np.maximum(np.asarray(hist_matrix.sum(1)).ravel(), 1)
    return np.asarray(hist_matrix @ year).ravel() / counts


def labels(frame: pd.DataFrame, target: list[set[int]]) -> np.ndarray:
    """1 where the candidate is in its user's target window."""
    return np.array(
        [int(i in target[u]) for u, i in zip(frame["user"], frame["item"], strict=True)]
    )


def fit_ranker(frame: pd.DataFrame, y: np.ndarray, c: RankerConfig) -> object:
    """LambdaMART on groups of one user's candidates (rows must be grouped by user)."""
    import lightgbm as lgb

    groups = frame.groupby("user", sort=False).size().to_numpy()
    model = lgb.LGBMRanker(
        objective="lambdarank",
        n_estimators=c.n_estimators,
        learning_rate=c.learning_rate,
        num_leaves=c.num_leaves,
        min_child_samples=c.min_child_samples,
        random_state=c.seed,
        n_jobs=c.n_jobs,
        verbose=-1,
    )
    model.fit(frame[FEATURES], y, group=groups, eval_at=[10])
    return model


def rerank(model: object, frame: pd.DataFrame, n_users: int, c: int) -> np.ndarray:
    """Candidates re-ordered by the ranker's score, best first (n_users × c)."""
    scores = np.asarray(model.predict(frame[FEATURES])).reshape(n_users, c)  # type: ignore[attr-defined]
    items = frame["item"].to_numpy().reshape(n_users, c)
    return np.take_along_axis(items, np.argsort(-scores, axis=1, kind="stable"), axis=1)
