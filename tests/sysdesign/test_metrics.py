"""Recall@K and NDCG@K against independent computations; interval coverage and CQR maths."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from ai_roadmap.sysdesign.metrics import (
    binned_coverage,
    conformal_margin,
    coverage,
    ndcg_at_k,
    pinball,
    recall_at_k,
    recall_curve,
    rolling_conformal_margins,
)


def test_recall_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(0)
    ranked = np.array([rng.permutation(50)[:20] for _ in range(30)])
    relevant = [
        set(rng.choice(50, size=rng.integers(0, 6), replace=False).tolist()) for _ in range(30)
    ]
    for k in (1, 5, 20):
        hits, users = 0.0, 0
        for row, rel in zip(ranked, relevant, strict=True):
            if rel:
                hits += sum(1 for item in rel if item in row[:k]) / len(rel)
                users += 1
        assert recall_at_k(ranked, relevant, k) == pytest.approx(hits / users)
        assert recall_curve(ranked, relevant, 20)[k - 1] == pytest.approx(hits / users)


def test_ndcg_matches_sklearn_when_every_relevant_item_is_ranked() -> None:
    rng = np.random.default_rng(1)
    n_items, k = 40, 10
    ours, truth_rows, score_rows = [], [], []
    for _ in range(25):
        scores = rng.standard_normal(n_items)
        truth = (rng.random(n_items) < 0.15).astype(float)
        truth[rng.integers(n_items)] = 1.0
        ranked = np.argsort(-scores)
        ours.append(ndcg_at_k(ranked[None, :], [set(np.flatnonzero(truth).tolist())], k))
        truth_rows.append(truth)
        score_rows.append(scores)
    assert np.mean(ours) == pytest.approx(ndcg_score(truth_rows, score_rows, k=k), abs=1e-12)


def test_ndcg_of_the_ideal_list_is_one_and_of_a_miss_is_zero() -> None:
    assert ndcg_at_k(np.array([[3, 1, 2, 9]]), [{1, 3}], 3) == pytest.approx(1.0)
    assert ndcg_at_k(np.array([[5, 6, 7]]), [{1}], 3) == 0.0
    # one hit at rank 2 of two relevant: (1/log2 3) / (1 + 1/log2 3)
    expected = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
    assert ndcg_at_k(np.array([[5, 1, 7]]), [{1, 2}], 3) == pytest.approx(expected)


def test_true_quantiles_cover_their_nominal_share() -> None:
    rng = np.random.default_rng(2)
    y = rng.normal(3.0, 2.0, size=200_000)
    lo, hi = np.full_like(y, 3.0 - 1.2816 * 2.0), np.full_like(y, 3.0 + 1.2816 * 2.0)
    assert coverage(y, lo, hi) == pytest.approx(0.8, abs=0.005)  # binomial sd ≈ 0.0009
    centres, per_bin = binned_coverage(y, lo, hi, by=y + rng.normal(size=y.size) * 100)
    assert per_bin.shape == centres.shape == (10,)
    assert np.abs(per_bin - 0.8).max() < 0.02


def test_pinball_is_minimised_by_the_quantile() -> None:
    rng = np.random.default_rng(3)
    y = rng.exponential(size=5000)
    grid = np.linspace(0, 4, 801)
    losses = [pinball(y, np.full_like(y, q), 0.9) for q in grid]
    assert grid[int(np.argmin(losses))] == pytest.approx(np.quantile(y, 0.9), abs=0.01)


def test_conformal_margin_restores_coverage_of_a_too_narrow_interval() -> None:
    rng = np.random.default_rng(4)
    covered = []
    for _ in range(200):
        y_cal, y_new = rng.normal(size=300), rng.normal(size=300)
        lo, hi = np.full(300, -0.5), np.full(300, 0.5)  # covers only 38 %
        m = conformal_margin(y_cal, lo, hi, alpha=0.2)
        covered.append(coverage(y_new, lo - m, hi + m))
    # CQR: P(cover) ≥ 0.8 and ≤ 0.8 + 1/(n+1) for continuous scores
    assert 0.79 <= np.mean(covered) <= 0.81
    assert conformal_margin(np.zeros(9), np.full(9, -1.0), np.full(9, 1.0), 0.2) == -1.0


def test_rolling_margins_follow_a_drifting_spread() -> None:
    rng = np.random.default_rng(5)
    day = np.repeat(np.arange(60), 400)
    spread = np.where(day < 30, 1.0, 3.0)  # the noise triples on day 30
    y = rng.normal(size=day.size) * spread
    lo, hi = np.full(y.size, -1.2816), np.full(y.size, 1.2816)
    margins = rolling_conformal_margins(y, lo, hi, day, window=7, alpha=0.2)
    assert np.isnan(margins[day == 0]).all()
    late = day >= 37  # a full week after the change
    assert coverage(y[late], lo[late] - margins[late], hi[late] + margins[late]) == pytest.approx(
        0.8, abs=0.02
    )
    assert coverage(y[late], lo[late], hi[late]) < 0.4  # without recalibration
