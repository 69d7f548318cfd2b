"""Two baselines a learned retriever must beat: most popular, and PureSVD.

Popularity ranks items by their interaction count in the history, the same list
for every user (minus what each has seen). PureSVD (Cremonesi et al. 2010) is
matrix factorisation of the binary user × item matrix A ≈ U_f Σ_f V_fᵀ by a
truncated SVD; a user with history row a scores items by a V_f V_fᵀ (folding in,
so a longer history needs no refit).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import svds


def top_k_unseen(scores: np.ndarray, seen: list[set[int]], k: int) -> np.ndarray:
    """Top-k item indices per row of ``scores`` after masking each row's seen items."""
    scores = np.array(scores, dtype=np.float64, copy=True)
    for u, items in enumerate(seen):
        if items:
            scores[u, list(items)] = -np.inf
    top = np.argpartition(-scores, kth=k, axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


def popularity_scores(history: sparse.csr_matrix) -> np.ndarray:
    """Interaction count of every item (a row to broadcast over users)."""
    return np.asarray(history.sum(axis=0)).ravel()


def pure_svd_item_factors(history: sparse.csr_matrix, factors: int, seed: int = 0) -> np.ndarray:
    """V_f (items × f) of the truncated SVD of the binary matrix (ARPACK, fixed start)."""
    rng = np.random.default_rng(seed)
    v0 = rng.standard_normal(min(history.shape))
    _, _, vt = svds(history.astype(np.float64), k=factors, v0=v0)
    return np.ascontiguousarray(vt.T)


def pure_svd_scores(rows: sparse.csr_matrix, item_factors: np.ndarray) -> np.ndarray:
    """a V_f V_fᵀ for each history row a."""
    return np.asarray((rows @ item_factors) @ item_factors.T)
