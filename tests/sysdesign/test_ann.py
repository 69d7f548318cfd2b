"""The IVF index against exact inner-product search."""

from __future__ import annotations

import numpy as np

from ai_roadmap.sysdesign.ann import IVFIndex, exact_search


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _clustered(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, 16))
    items = _unit(centres[rng.integers(20, size=3000)] + 0.3 * rng.standard_normal((3000, 16)))
    queries = _unit(centres[rng.integers(20, size=200)] + 0.3 * rng.standard_normal((200, 16)))
    return items.astype(np.float32), queries.astype(np.float32)


def test_exact_search_is_the_brute_force_order() -> None:
    items, queries = _clustered(0)
    top = exact_search(queries, items, 10)
    scores = queries @ items.T
    assert np.array_equal(top, np.argsort(-scores, axis=1, kind="stable")[:, :10])


def test_probing_every_list_is_exact_and_few_lists_keep_most_neighbours() -> None:
    items, queries = _clustered(1)
    exact = exact_search(queries, items, 20)
    index = IVFIndex.build(items, n_lists=32)
    assert sorted(np.concatenate(index.lists).tolist()) == list(range(len(items)))
    everything, scored = index.search(queries, 20, nprobe=32)
    assert np.array_equal(everything, exact) and scored == len(items)
    approx, scored = index.search(queries, 20, nprobe=4)
    overlap = np.mean([len(set(a) & set(e)) / 20 for a, e in zip(approx, exact, strict=True)])
    assert overlap >= 0.9 and scored < 0.35 * len(items)
    fewer, _ = index.search(queries, 20, nprobe=1)
    worse = np.mean([len(set(a) & set(e)) / 20 for a, e in zip(fewer, exact, strict=True)])
    assert worse < overlap  # the trade-off the index makes is real


def test_excluded_items_never_come_back() -> None:
    items, queries = _clustered(2)
    index = IVFIndex.build(items, n_lists=8)
    exact = exact_search(queries[:5], items, 5)
    exclude = [set(row[:3].tolist()) for row in exact]
    found, _ = index.search(queries[:5], 5, nprobe=8, exclude=exclude)
    for row, banned, best in zip(found, exclude, exact, strict=True):
        assert not banned & set(row.tolist())
        assert row[:2].tolist() == best[3:5].tolist()
