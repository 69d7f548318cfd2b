"""The caption-keyword baseline: what words alone, with the category folders, retrieve.

No pixels are looked at. A query caption is matched to its nearest *training*
caption by keyword overlap (Jaccard of their keyword sets: lower-cased English words
minus a few function words, or the Chinese characters), and takes that training
stamp's category folder as its guess (``animals/mammals/bovines``). A gallery image
scores the depth of the category path it shares with the guess (3 for the same
folder, 2 for ``animals/mammals``, …): the gallery images' category folders are
metadata the dual encoder never sees, so the baseline is generous. Image → text uses
the same scores from the image's side. Ties are broken by their expectation
(:mod:`.recall`), so a guess of a folder with m test images gives K/m.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from ai_roadmap.multimodal.clip.pairs import Pair

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "with",
        "and",
        "or",
        "for",
        "to",
        "is",
        "its",
        "it",
        "this",
        "that",
    ]
)
_WORD = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def keywords(caption: str) -> frozenset[str]:
    """English keywords (lower-cased words, no function words) or Chinese characters."""
    chinese = _CJK.findall(caption)
    if chinese:
        return frozenset(chinese)
    return frozenset(w for w in _WORD.findall(caption.lower()) if w not in STOPWORDS)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def guess_category(
    query: str, train_captions: Sequence[str], train_categories: Sequence[str]
) -> str:
    """The category of the training caption sharing most keywords ("" when none shares any)."""
    words = keywords(query)
    best, best_score = "", 0.0
    for caption, category in zip(train_captions, train_categories, strict=True):
        score = jaccard(words, keywords(caption))
        if score > best_score:
            best, best_score = category, score
    return best


def shared_depth(a: str, b: str) -> int:
    """How many leading path parts two category folders share."""
    depth = 0
    for x, y in zip(a.split("/"), b.split("/"), strict=False):
        if not a or x != y:
            break
        depth += 1
    return depth


def keyword_scores(
    queries: Sequence[str], gallery: Sequence[Pair], train: Sequence[Pair], lang: str
) -> torch.Tensor:
    """(M queries, N gallery images) baseline scores: shared category depth with the guess."""
    pick = (lambda p: p.caption_zh) if lang == "zh" else (lambda p: p.caption_en)
    known = [p for p in train if pick(p)]
    captions, categories = [pick(p) for p in known], [p.category for p in known]
    guesses = [guess_category(q, captions, categories) for q in queries]
    return torch.tensor([[float(shared_depth(g, p.category)) for p in gallery] for g in guesses])
