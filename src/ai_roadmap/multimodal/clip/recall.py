"""Recall@K for retrieval in both directions, strict and lenient, exact under ties.

A query is a hit at K when one of its *positives* ranks among the first K of the
gallery by score. Two readings of "positive":

* **strict** — only the item it was paired with (text → its own image, image → its
  own caption). This is the figure the target is judged on.
* **lenient** — any gallery item whose caption is the same string ("A frog." names
  two pictures, and no model can tell which of two identically captioned pictures a
  caption meant).

Ties are scored by their expectation under a random order of the tied items, not by
whichever the sort happens to put first: with ``g`` gallery items scoring strictly
above the best positive, ``t`` items tied with it of which ``p`` are positives, and
``m = K − g`` places left, ``P(hit) = 1 − C(t − p, m) / C(t, m)`` (0 when m ≤ 0,
1 when m ≥ t − p + 1). Two captions that are the same string get the same embedding,
so ties do occur in image → text retrieval.

Chance is the same expectation for random scores: with one positive among N gallery
items, ``K / N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import torch


def hit_probability(scores: torch.Tensor, positives: torch.Tensor, k: int) -> float:
    """P(a positive is in the top k) of one query; ``scores`` (G,), ``positives`` (G,) bool."""
    if not bool(positives.any()):
        return 0.0
    best = scores[positives].max()
    greater = int((scores > best).sum())
    tied = int((scores == best).sum())
    tied_pos = int((positives & (scores == best)).sum())
    places = k - greater
    if places <= 0:
        return 0.0
    if places >= tied:
        return 1.0
    return 1.0 - comb(tied - tied_pos, places) / comb(tied, places)


def recall_at_k(
    scores: torch.Tensor, positives: torch.Tensor, ks: Sequence[int]
) -> dict[int, float]:
    """Mean hit probability over the queries (rows) for each K."""
    if scores.shape != positives.shape or scores.ndim != 2 or scores.shape[0] == 0:
        raise ValueError("scores and positives must be the same non-empty (Q, G) shape")
    return {
        k: sum(hit_probability(s, p, k) for s, p in zip(scores, positives, strict=True))
        / scores.shape[0]
        for k in ks
    }


def same_caption(query_captions: Sequence[str], gallery_captions: Sequence[str]) -> torch.Tensor:
    """(Q, G) bool: gallery item j has exactly the query's caption (the lenient positives)."""
    return torch.tensor([[q == g for g in gallery_captions] for q in query_captions])


def retrieval_recalls(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    owners: Sequence[int],
    captions: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Recall@K both ways for one language.

    ``image_emb`` (N, D): the gallery of test images; ``text_emb`` (M, D): the captions
    that exist in this language, ``owners[m]`` the image caption m belongs to and
    ``captions[m]`` its text. Text → image searches all N images; image → text lets each
    captioned image search the M captions.
    """
    return recalls_from_scores(text_emb @ image_emb.T, owners, captions, ks)


def recalls_from_scores(
    scores: torch.Tensor,
    owners: Sequence[int],
    captions: Sequence[str],
    ks: Sequence[int] = (1, 5, 10),
) -> dict[str, float]:
    """Recall@K both ways from a (M captions, N images) score matrix (see above)."""
    owner = torch.tensor(list(owners))
    strict_t2i = torch.zeros_like(scores, dtype=torch.bool)
    strict_t2i[torch.arange(len(owner)), owner] = True
    image_captions = [""] * scores.shape[1]
    for m, i in enumerate(owners):
        image_captions[i] = captions[m]
    lenient_t2i = strict_t2i | same_caption(captions, image_captions)
    eye = torch.eye(len(owner), dtype=torch.bool)
    lenient_i2t = same_caption(captions, captions)
    out: dict[str, float] = {}
    for name, s, pos in (
        ("t2i", scores, strict_t2i),
        ("t2i_lenient", scores, lenient_t2i),
        ("i2t", scores[:, owner].T, eye),  # (M images with a caption, M captions)
        ("i2t_lenient", scores[:, owner].T, lenient_i2t),
    ):
        for k, value in recall_at_k(s, pos, ks).items():
            out[f"{name}_r{k}"] = value
    return out
