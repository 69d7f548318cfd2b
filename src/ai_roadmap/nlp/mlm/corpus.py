"""The texts of the two pretraining phases and their held-out parts, with no shared text.

Phase 1 (**classical**): the poems of ``classical-corpus``, de-duplicated by exact text.
A poem is held out when ``sha256(text) mod 1000 < heldout_permille``, so a repeated poem
(御定全唐詩 reprints many Tang poems) falls on one side only.

Phase 2 (**news**, the continued phase): the paragraphs of People's Daily 1998-01 from
the articles the shared split (:func:`ai_roadmap.datasets.people_daily.article_split`)
puts in *train*, plus the review sentences. The articles NER keeps for dev and test are
never trained on: their paragraphs are the held-out news text on which the loss is
measured before and after continuing.

A held-out text whose sha256 equals that of any training text (short formulae such as
``（新华社记者…摄）`` recur across articles) is dropped from the held-out set, and the
number dropped is reported; :func:`shared_texts` then re-checks both sides by hash.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass

from ai_roadmap.datasets.classical import iter_classical
from ai_roadmap.datasets.modern_news import iter_news, iter_reviews


@dataclass(frozen=True)
class CorpusLimits:
    """Characters taken per part (0: all), after a seeded shuffle of the texts."""

    classical_chars: int = 0
    news_chars: int = 0
    heldout_chars: int = 0  # per held-out set
    heldout_permille: int = 10  # classical poems held out, per thousand
    reviews: bool = True  # add the review sentences to the news phase


@dataclass
class Corpus:
    classical_train: list[str]
    classical_heldout: list[str]
    news_train: list[str]
    news_heldout: list[str]
    dropped_duplicates: int  # held-out texts dropped because training holds the same text
    source_chars: dict[str, int]  # characters before the limits, per part


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chars(texts: Iterable[str]) -> int:
    return sum(len(t) for t in texts)


def shared_texts(heldout: Iterable[str], train: Iterable[str]) -> int:
    """How many held-out texts have the sha256 of a training text (0 when disjoint)."""
    seen = {text_hash(t) for t in train}
    return sum(text_hash(t) in seen for t in heldout)


def _take(texts: list[str], limit: int, seed: int) -> list[str]:
    """A seeded shuffle of ``texts`` cut to ``limit`` characters (0: all)."""
    shuffled = list(texts)
    random.Random(seed).shuffle(shuffled)
    if not limit:
        return shuffled
    out, total = [], 0
    for text in shuffled:
        if total >= limit:
            break
        out.append(text)
        total += len(text)
    return out


def classical_split(permille: int) -> tuple[list[str], list[str]]:
    """Unique poem texts, split by hash: ``(train, heldout)``."""
    seen: set[str] = set()
    train: list[str] = []
    heldout: list[str] = []
    for record in iter_classical():
        text = record["text"]
        digest = text_hash(text)
        if digest in seen:
            continue
        seen.add(digest)
        (heldout if int(digest, 16) % 1000 < permille else train).append(text)
    return train, heldout


def news_split(reviews: bool) -> tuple[list[str], list[str]]:
    """Paragraphs of NER-train articles (+ reviews) vs paragraphs of NER dev/test articles."""
    train: list[str] = []
    heldout: list[str] = []
    for article in iter_news():
        lines = [str(line) for line in article["lines"] if str(line).strip()]
        (train if article["split"] == "train" else heldout).extend(lines)
    if reviews:
        train.extend(r["text"] for r in iter_reviews())
    return train, heldout


def load_corpus(limits: CorpusLimits, seed: int) -> Corpus:
    """Both phases' training and held-out texts, cut to the limits; no text on both sides."""
    classical_train, classical_heldout = classical_split(limits.heldout_permille)
    news_train, news_heldout = news_split(limits.reviews)
    sizes = {
        "classical_train": chars(classical_train),
        "classical_heldout": chars(classical_heldout),
        "news_train": chars(news_train),
        "news_heldout": chars(news_heldout),
    }
    trained = {text_hash(t) for t in (*classical_train, *news_train)}
    kept_c = [t for t in classical_heldout if text_hash(t) not in trained]
    kept_n = [t for t in news_heldout if text_hash(t) not in trained]
    dropped = len(classical_heldout) - len(kept_c) + len(news_heldout) - len(kept_n)
    return Corpus(
        classical_train=_take(classical_train, limits.classical_chars, seed),
        classical_heldout=_take(kept_c, limits.heldout_chars, seed + 1),
        news_train=_take(news_train, limits.news_chars, seed + 2),
        news_heldout=_take(kept_n, limits.heldout_chars, seed + 3),
        dropped_duplicates=dropped,
        source_chars=sizes,
    )
