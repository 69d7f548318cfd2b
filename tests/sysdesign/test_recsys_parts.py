"""The recommender's parts: the time split, history bags, baselines, features, a tiny tower."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import sparse

from ai_roadmap.sysdesign.baselines import pure_svd_item_factors, top_k_unseen
from ai_roadmap.sysdesign.interactions import Catalogue, item_sets, matrix, time_split
from ai_roadmap.sysdesign.two_tower import TowerConfig, embed, history_bags, train_two_tower

MOVIES = pd.DataFrame(
    {
        "movieId": [10, 20, 30, 40, 50, 60],
        "title": list("abcdef"),
        "year": [1990.0, 2000.0, np.nan, 2010.0, 1980.0, 1995.0],
        "genres": ["Drama", "Comedy|Drama", "Action", "Action|Comedy", "Drama", "Horror"],
    }
)


def _ratings(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for user in (7, 8, 9):
        for t, movie in enumerate(rng.permutation(MOVIES["movieId"].to_numpy())):
            rows.append((user, int(movie), 4.0, 1000 * user + t * 10 + int(rng.integers(5))))
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


def test_catalogue_features() -> None:
    cat = Catalogue.from_movies(MOVIES)
    assert cat.genre_names == ["Action", "Comedy", "Drama", "Horror"]
    assert cat.genres[1].tolist() == [0, 1, 1, 0] and cat.genres.sum() == 8
    assert cat.year[2].tolist() == [0.0, 1.0]  # unknown year: zero and flagged
    assert cat.year[3, 0] == pytest.approx((2010 - 1990) / 20)


def test_split_windows_are_each_users_latest_ratings() -> None:
    ratings = _ratings()
    cat = Catalogue.from_movies(MOVIES)
    split = time_split(ratings, cat, n_test=2, n_val=1)
    assert split.n_users == 3
    for user in range(3):
        h, v, t = (part[part["user"] == user] for part in (split.history, split.val, split.test))
        assert (len(h), len(v), len(t)) == (3, 1, 2)
        assert h["timestamp"].max() <= v["timestamp"].min() <= t["timestamp"].min()
    assert len(split.history) + len(split.val) + len(split.test) == len(ratings)
    assert (cat.movie_ids[split.test["item"]] == split.test["movieId"]).all()


def test_bags_leave_the_target_out_and_average() -> None:
    hist = sparse.csr_matrix(np.array([[1, 1, 0, 1], [0, 0, 0, 0], [0, 1, 1, 0]], dtype=np.float32))
    items, offsets, weights = history_bags(hist, np.array([0, 1, 2]), np.array([1, 0, 2]))
    assert items.tolist() == [0, 3, 1] and offsets.tolist() == [0, 2, 2]
    assert weights.tolist() == pytest.approx([0.5, 0.5, 1.0])
    rng = np.random.default_rng(0)
    sampled = history_bags(hist, np.array([0, 2]), np.array([1, 2]), max_items=8, rng=rng)
    assert 1 not in sampled[0][: int(sampled[1][1])].tolist()
    assert set(sampled[0][int(sampled[1][1]) :].tolist()) == {1}


def test_top_k_unseen_and_svd_reference() -> None:
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    top = top_k_unseen(scores, [{0}, set()], 2)
    assert top.tolist() == [[1, 2], [3, 2]]
    rng = np.random.default_rng(0)
    hist = sparse.csr_matrix((rng.random((40, 60)) < 0.2).astype(np.float32))
    v = pure_svd_item_factors(hist, 5)
    _, _, vt = np.linalg.svd(hist.toarray(), full_matrices=False)
    assert np.allclose(v @ v.T, vt[:5].T @ vt[:5], atol=1e-8)


def test_a_tiny_tower_learns_genre_taste() -> None:
    # two kinds of users: those who watch only Drama, those who watch only Action
    cat = Catalogue.from_movies(MOVIES)
    drama, action = [0, 1, 4], [2, 3]
    rows = [[1 if i in drama else 0 for i in range(6)] for _ in range(20)]
    rows += [[1 if i in action else 0 for i in range(6)] for _ in range(20)]
    hist = sparse.csr_matrix(np.array(rows, dtype=np.float32))
    c = TowerConfig(dim=8, hidden=16, epochs=30, batch_size=32, lr=1e-2, log_q=False)
    report = train_two_tower(hist, cat.genres, cat.year, c)
    assert report.losses[-1] < report.losses[0]
    users, items = embed(report.model, hist)
    scores = users @ items.T
    assert scores[0, drama].mean() > scores[0, action].mean()
    assert scores[-1, action].mean() > scores[-1, drama].mean()
    assert np.allclose(np.linalg.norm(items, axis=1), 1.0, atol=1e-5)
    assert torch.get_num_threads() == 1


def test_item_sets_and_matrix() -> None:
    frame = pd.DataFrame({"user": [0, 0, 2], "item": [1, 1, 3]})
    m = matrix(frame, 3, 4)
    assert m.toarray().tolist() == [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1]]
    assert item_sets(frame, 3) == [{1}, set(), {3}]


def test_svd_reference_passes_the_right_subspace_and_fails_a_wrong_one() -> None:
    from ai_roadmap.sysdesign.reference import svd_reference

    rng = np.random.default_rng(1)
    hist = sparse.csr_matrix((rng.random((30, 80)) < 0.2).astype(np.float32))
    assert svd_reference(hist, pure_svd_item_factors(hist, 4)).passed
    wrong, _ = np.linalg.qr(rng.standard_normal((80, 4)))
    check = svd_reference(hist, wrong)
    assert not check.passed and check.error > 0.1
