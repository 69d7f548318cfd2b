"""An inverted-file (IVF) index for maximum inner-product search over item embeddings.

Exact retrieval scores every item: O(N d) per query. IVF (Jégou et al., the
``IndexIVFFlat`` of FAISS) clusters the N item vectors into L lists with k-means;
a query scores the L centroids, then only the items of its ``nprobe`` best lists,
about N · nprobe / L of them. With unit-norm vectors, inner product and Euclidean
distance order items alike (‖q − x‖² = 2 − 2 q·x), so k-means cells are the right
partition. What is lost is the true neighbour that sits in an unprobed list:
``recall@K vs exact`` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def kmeans(x: np.ndarray, k: int, iters: int = 20, seed: int = 0) -> np.ndarray:
    """Lloyd's k-means with k-means++-free random init from the data (k centroids)."""
    rng = np.random.default_rng(seed)
    centroids = x[rng.choice(len(x), size=k, replace=False)].copy()
    for _ in range(iters):
        assign = nearest_centroid(x, centroids)
        for c in range(k):
            members = x[assign == c]
            if len(members):
                centroids[c] = members.mean(axis=0)
    return centroids


def nearest_centroid(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    d2 = (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None, :]
    return np.asarray(d2.argmin(axis=1))


def exact_search(queries: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    """Top-k item indices by inner product, best first (brute force)."""
    scores = queries @ items.T
    top = np.argpartition(-scores, kth=min(k, items.shape[0] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)


@dataclass
class IVFIndex:
    """k-means lists over the items; ``search`` probes the ``nprobe`` nearest lists."""

    centroids: np.ndarray
    lists: list[np.ndarray]
    items: np.ndarray

    @classmethod
    def build(cls, items: np.ndarray, n_lists: int, seed: int = 0) -> IVFIndex:
        centroids = kmeans(items, n_lists, seed=seed)
        assign = nearest_centroid(items, centroids)
        return cls(centroids, [np.flatnonzero(assign == c) for c in range(n_lists)], items)

    def search(
        self, queries: np.ndarray, k: int, nprobe: int, exclude: list[set[int]] | None = None
    ) -> tuple[np.ndarray, float]:
        """(top-k item indices per query, padded with -1; mean items scored per query).
        ``exclude[q]`` holds items not to return (e.g. already seen)."""
        probe = np.argsort(-(queries @ self.centroids.T), axis=1)[:, :nprobe]
        out = np.full((len(queries), k), -1, dtype=np.int64)
        scored = 0
        for q, lists in enumerate(probe):
            cand = np.concatenate([self.lists[c] for c in lists])
            if exclude is not None and exclude[q]:
                cand = cand[~np.isin(cand, list(exclude[q]))]
            scored += cand.size
            scores = self.items[cand] @ queries[q]
            best = cand[np.argsort(-scores, kind="stable")[:k]]
            out[q, : best.size] = best
        return out, scored / max(len(queries), 1)
