"""Offline metrics of the two systems: Recall@K, NDCG@K, interval coverage and pinball loss.

Recall@K of one user = |top-K ∩ R| / |R|, R the items the user interacted with in
the held-out window; averaged over users with R ≠ ∅.

NDCG@K with binary relevance rel_i ∈ {0, 1} at rank i (1-based):
DCG@K = Σ_{i≤K} rel_i / log2(i + 1); IDCG@K is the DCG of the best possible list,
min(|R|, K) relevant items first; NDCG = DCG / IDCG.

Coverage of an interval [lo, hi] = mean 1{lo ≤ y ≤ hi}; a calibrated 80 % interval
covers 0.8 of new cases. The pinball (quantile) loss of q̂ at level τ is
mean max(τ (y − q̂), (τ − 1)(y − q̂)), minimised by the τ-quantile.
"""

from __future__ import annotations

import numpy as np


def recall_at_k(ranked: np.ndarray, relevant: list[set[int]], k: int) -> float:
    """Mean over users (rows of ``ranked``, item ids best first) with a non-empty ``relevant``."""
    scores = [
        len(set(row[:k].tolist()) & rel) / len(rel)
        for row, rel in zip(ranked, relevant, strict=True)
        if rel
    ]
    return float(np.mean(scores)) if scores else float("nan")


def recall_curve(ranked: np.ndarray, relevant: list[set[int]], k_max: int) -> np.ndarray:
    """Recall@K for K = 1 … k_max at once: cumulative hits over |R|, mean over users."""
    rows = [
        np.cumsum([item in rel for item in row[:k_max].tolist()]) / len(rel)
        for row, rel in zip(ranked, relevant, strict=True)
        if rel
    ]
    return np.mean(rows, axis=0) if rows else np.full(k_max, np.nan)


def dcg(gains: np.ndarray) -> float:
    """Σ gain_i / log2(i + 1) over ranks i = 1…n."""
    gains = np.asarray(gains, dtype=float)
    return float((gains / np.log2(np.arange(2, gains.size + 2))).sum())


def ndcg_at_k(ranked: np.ndarray, relevant: list[set[int]], k: int) -> float:
    """Binary-relevance NDCG@K averaged over users with a non-empty ``relevant``."""
    scores = []
    for row, rel in zip(ranked, relevant, strict=True):
        if not rel:
            continue
        gains = np.array([1.0 if item in rel else 0.0 for item in row[:k].tolist()])
        scores.append(dcg(gains) / dcg(np.ones(min(len(rel), k))))
    return float(np.mean(scores)) if scores else float("nan")


def coverage(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Share of ``y`` inside its interval [lo, hi]."""
    return float(np.mean((y >= lo) & (y <= hi)))


def pinball(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    """Mean quantile loss of predictions ``q`` at level ``tau``."""
    diff = np.asarray(y, dtype=float) - np.asarray(q, dtype=float)
    return float(np.mean(np.maximum(tau * diff, (tau - 1.0) * diff)))


def binned_coverage(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, by: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Coverage of [lo, hi] within each quantile bin of ``by`` (e.g. the predicted median):
    (bin centres as mean of ``by``, coverage per bin). A calibrated model is flat at nominal."""
    edges = np.quantile(by, np.linspace(0, 1, bins + 1))
    index = np.clip(np.searchsorted(edges, by, side="right") - 1, 0, bins - 1)
    centres = np.array([by[index == b].mean() for b in range(bins)])
    covered = (y >= lo) & (y <= hi)
    return centres, np.array([covered[index == b].mean() for b in range(bins)])


def conformal_margin(y: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: float) -> float:
    """Conformalised quantile regression (Romano et al. 2019): with scores
    E_i = max(lo_i − y_i, y_i − hi_i) on a calibration set of n, the margin is the
    ⌈(1 − α)(n + 1)⌉-th smallest E; [lo − m, hi + m] then covers a new exchangeable
    case with probability ≥ 1 − α."""
    scores = np.sort(np.maximum(lo - y, y - hi))
    n = scores.size
    rank = int(np.ceil((1 - alpha) * (n + 1)))
    return float(scores[min(rank, n) - 1])


def rolling_conformal_margins(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, day: np.ndarray, window: int, alpha: float
) -> np.ndarray:
    """A margin per row from the ``window`` days before its own day (labels of a day are in
    by the next one): conformal prediction under drift, recalibrated daily on recent data.
    Rows with no earlier day in the window get NaN."""
    margins = np.full(y.shape, np.nan)
    for d in np.unique(day):
        past = (day < d) & (day >= d - window)
        if past.any():
            margins[day == d] = conformal_margin(y[past], lo[past], hi[past], alpha)
    return margins
