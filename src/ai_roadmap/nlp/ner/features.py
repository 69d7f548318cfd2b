"""What the tagger sees of raw text: characters, character bigrams, and sentence pieces.

Position t of a text c_1 … c_n is described by its character c_t and the two bigrams
around it, ``c_{t−1}c_t`` and ``c_t c_{t+1}`` (``<s>``/``</s>`` pad the ends) — the
char + bigram input of Zhang & Yang's lattice-LSTM baselines. Nothing here uses the
corpus's gold word segmentation: at test time the input is raw text.

Long paragraphs are cut into pieces after sentence-final punctuation (。！？；) and at
most ``max_len`` characters, so batches stay short; an entity never spans 。, and a
forced cut inside a longer run is rare (pieces are scored after being joined back).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
PIECE_END = set("。！？；!?;")


@dataclass
class Vocab:
    """Characters, bigrams and tags by id; id 0 is padding and id 1 unknown for both."""

    chars: list[str] = field(default_factory=lambda: [PAD, UNK, BOS, EOS])
    bigrams: list[str] = field(default_factory=lambda: [PAD, UNK])
    tags: list[str] = field(default_factory=lambda: ["O"])

    def __post_init__(self) -> None:
        self.char_id = {c: i for i, c in enumerate(self.chars)}
        self.bigram_id = {b: i for i, b in enumerate(self.bigrams)}
        self.tag_id = {t: i for i, t in enumerate(self.tags)}

    @staticmethod
    def build(
        texts: Iterable[str], tags: list[str], min_char: int = 1, min_bigram: int = 2
    ) -> Vocab:
        """Characters seen ≥ ``min_char`` times and bigrams seen ≥ ``min_bigram`` times."""
        chars: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        for text in texts:
            chars.update(text)
            bigrams.update(bigrams_of(text))
        vocab = Vocab()
        vocab.chars += sorted(c for c, n in chars.items() if n >= min_char)
        vocab.bigrams += sorted(b for b, n in bigrams.items() if n >= min_bigram)
        vocab.tags = list(tags)
        vocab.__post_init__()
        return vocab

    def encode(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """(character ids, left-bigram ids, right-bigram ids), one of each per character."""
        chars = [self.char_id.get(c, 1) for c in text]
        grams = [self.bigram_id.get(b, 1) for b in bigrams_of(text)]  # n + 1 bigrams
        return chars, grams[:-1], grams[1:]

    def to_json(self) -> str:
        return json.dumps(
            {"chars": self.chars, "bigrams": self.bigrams, "tags": self.tags}, ensure_ascii=False
        )

    @staticmethod
    def from_json(text: str) -> Vocab:
        raw = json.loads(text)
        return Vocab(list(raw["chars"]), list(raw["bigrams"]), list(raw["tags"]))


def bigrams_of(text: str) -> list[str]:
    """The n + 1 bigrams of a padded text: ``<s>c1``, ``c1c2``, …, ``cn</s>``."""
    padded = [BOS, *text, EOS]
    return [a + b for a, b in pairwise(padded)]


def pieces(text: str, max_len: int) -> list[tuple[int, int]]:
    """(start, end) spans covering ``text``: cut after 。！？； and every ``max_len`` chars."""
    spans = []
    start = 0
    for i, char in enumerate(text):
        if char in PIECE_END or i + 1 - start >= max_len:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))
    return spans
