"""Reference checks the recommender runs on its own figures, recorded as check results.

NDCG@10 is recomputed with ``sklearn.metrics.ndcg_score`` on the ranker's candidate
lists (whose ideal DCG is taken within each list, as scikit-learn does), and the
PureSVD factors from ARPACK are compared with numpy's dense SVD through the
principal angles between the two subspaces (the factors themselves are defined
only up to sign, and rotation within equal singular values).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.sysdesign.metrics import ndcg_at_k
from ai_roadmap.sysdesign.ranking import FEATURES as FEATURES_REF


def ndcg_reference(
    ranker: object, rows: pd.DataFrame, n: int, cand: int, rel: list[set[int]]
) -> CheckRecord:
    """Our NDCG@10 against sklearn.metrics.ndcg_score on the ranker's candidate lists
    (ideal taken within each list, as scikit-learn does)."""
    from sklearn.metrics import ndcg_score

    raw = np.asarray(ranker.predict(rows[FEATURES_REF])).reshape(n, cand)  # type: ignore[attr-defined]
    # ties broken by retrieval order, as ``rerank`` does; distinct scores for scikit-learn,
    # which would otherwise average the gains of tied items
    order = np.argsort(-raw, axis=1, kind="stable")
    scores = np.empty_like(raw)
    np.put_along_axis(scores, order, -np.arange(cand, dtype=float)[None, :].repeat(n, 0), axis=1)
    items = rows["item"].to_numpy().reshape(n, cand)
    truth = np.array([[float(i in rel[u]) for i in items[u]] for u in range(n)])
    users = truth.sum(1) > 0
    ours = [
        ndcg_at_k(items[u][order[u]][None, :], [set(items[u][truth[u] > 0].tolist())], 10)
        for u in np.flatnonzero(users)
    ]
    theirs = ndcg_score(truth[users], scores[users], k=10)
    return record(
        "ndcg_vs_sklearn",
        abs(float(np.mean(ours)) - float(theirs)),
        1e-9,
        f"{int(users.sum())} users with a relevant candidate",
    )


def svd_reference(hist: sparse.csr_matrix, item_factors: np.ndarray) -> CheckRecord:
    """The ARPACK factors span numpy's dense top-f right singular subspace: the cosines of
    the principal angles between the two (singular values of V_fᵀ R_f) are all 1."""
    dense = np.asarray(hist.toarray(), dtype=np.float64)
    _, s, vt = np.linalg.svd(dense, full_matrices=False)
    f = item_factors.shape[1]
    cosines = np.linalg.svd(item_factors.T @ vt[:f].T, compute_uv=False)
    gap = float(np.abs(1.0 - cosines).max())
    return record("svd_vs_numpy", gap, 1e-6, f"rank {f}; σ_f/σ_(f+1) = {s[f - 1] / s[f]:.3f}")
