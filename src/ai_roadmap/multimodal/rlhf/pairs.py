"""Preference pairs built without people: a real poem against a controlled corruption of it.

The chosen side is always a real 绝句 that passes the judge (:mod:`.form`: shape, marks,
rhyme of the even lines, the prompt's character). The rejected side is the same poem
with one thing broken, so each pair type isolates one property a reward model must see:

================  ==========================================================  =========
type              rejected side                                               breaks
================  ==========================================================  =========
``length``        one line gains or loses a character (not its last)          shape
``rhyme``         the last character of line 2 or 4 swapped for a line-final  rhyme
                  character of another rhyme group
``repeat``        one of lines 2…4 becomes one character repeated (its last   degenerate
                  character kept, so the rhyme still holds)
``prompt``        the prompt's character replaced in the first line           prompt
``shuffle``       each line's characters permuted (its last one kept): form,  quality
                  rhyme and prompt all still pass — only the language is worse
``line_count``    one of lines 2…4 dropped                                    shape
================  ==========================================================  =========

``shuffle`` is the quality-ranked type: the judge cannot tell the two sides apart, only
the fact that real poems are better language than scrambled ones ranks them. Pairs are
made per poem, and the poems are split before pairs are made, so no poem gives pairs to
both the training and the held-out side.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ai_roadmap.multimodal.rlhf.form import judge, rhyme_group
from ai_roadmap.multimodal.rlhf.prompts import Example
from ai_roadmap.nlp.poetry.corpus import Poem

PAIR_TYPES = ("length", "rhyme", "repeat", "prompt", "shuffle", "line_count")


@dataclass(frozen=True)
class Pair:
    """One preference: for ``prompt``, ``chosen`` is better than ``rejected``."""

    prompt: str
    chosen: str
    rejected: str
    kind: str


@dataclass(frozen=True)
class Pool:
    """Characters to corrupt with, read from the training poems only."""

    chars: tuple[str, ...]  # common characters
    endings: dict[str, tuple[str, ...]]  # rhyme group → characters that close even lines

    @classmethod
    def from_poems(cls, poems: Sequence[Poem], common: int = 2000, min_endings: int = 3) -> Pool:
        """The ``common`` most frequent characters; line-final characters seen at least
        ``min_endings`` times (a rare character would give the corruption away by itself)."""
        counts = Counter(ch for p in poems for v in p.verses() for ch in v)
        finals = Counter(v[-1] for p in poems for v in p.verses()[1::2])
        endings: dict[str, set[str]] = defaultdict(set)
        for char, n in finals.items():
            if n >= min_endings and (group := rhyme_group(char)):
                endings[group].add(char)
        return cls(
            tuple(ch for ch, _ in counts.most_common(common)),
            {g: tuple(sorted(chars)) for g, chars in sorted(endings.items())},
        )


Rng = np.random.Generator
Corruption = Callable[[Example, Rng, Pool], str | None]


def _pick(rng: Rng, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _text(verses: list[str], marks: list[str]) -> str:
    return "".join(v + m for v, m in zip(verses, marks, strict=True))


def _parts(ex: Example) -> tuple[list[str], list[str]]:
    return ex.poem.verses(), [line[-1] for line in ex.poem.lines]


def corrupt_length(ex: Example, rng: Rng, pool: Pool) -> str | None:
    verses, marks = _parts(ex)
    i = int(rng.integers(len(verses)))
    at = int(rng.integers(len(verses[i]) - 1))  # never the last character (rhyme kept)
    v = verses[i]
    if rng.random() < 0.5:
        verses[i] = v[:at] + v[at + 1 :]
    else:
        verses[i] = v[:at] + _pick(rng, pool.chars) + v[at:]
    return _text(verses, marks)


def corrupt_rhyme(ex: Example, rng: Rng, pool: Pool) -> str | None:
    verses, marks = _parts(ex)
    i = int(rng.choice([1, 3]))
    own = rhyme_group(verses[i][-1])
    groups = [g for g in pool.endings if g != own]
    if not groups:
        return None
    verses[i] = verses[i][:-1] + _pick(rng, pool.endings[_pick(rng, groups)])
    return _text(verses, marks)


def corrupt_repeat(ex: Example, rng: Rng, pool: Pool) -> str | None:
    verses, marks = _parts(ex)
    i = int(rng.integers(1, len(verses)))
    verses[i] = verses[i][0] * (len(verses[i]) - 1) + verses[i][-1]
    return _text(verses, marks)


def corrupt_prompt(ex: Example, rng: Rng, pool: Pool) -> str | None:
    verses, marks = _parts(ex)
    others = [ch for ch in pool.chars[:500] if ch != ex.task.char]
    verses[0] = verses[0].replace(ex.task.char, _pick(rng, others))
    return _text(verses, marks)


def corrupt_shuffle(ex: Example, rng: Rng, pool: Pool) -> str | None:
    verses, marks = _parts(ex)
    shuffled = ["".join(rng.permutation(list(v[:-1]))) + v[-1] for v in verses]
    return None if shuffled == verses else _text(shuffled, marks)


def corrupt_line_count(ex: Example, rng: Rng, pool: Pool) -> str | None:
    verses, marks = _parts(ex)
    i = int(rng.integers(1, len(verses)))
    del verses[i], marks[i]
    return _text(verses, marks)


CORRUPTIONS: dict[str, Corruption] = {
    "length": corrupt_length,
    "rhyme": corrupt_rhyme,
    "repeat": corrupt_repeat,
    "prompt": corrupt_prompt,
    "shuffle": corrupt_shuffle,
    "line_count": corrupt_line_count,
}


def build_pairs(
    examples: Sequence[Example], kinds: Sequence[str], pool: Pool, seed: int
) -> list[Pair]:
    """One pair of each kind per example whose real poem passes the judge."""
    unknown = set(kinds) - set(CORRUPTIONS)
    if unknown:
        raise ValueError(f"unknown pair types {sorted(unknown)}; known: {', '.join(PAIR_TYPES)}")
    rng = np.random.default_rng(seed)
    pairs = []
    for ex in examples:
        if not judge(ex.task, ex.completion).all_ok:
            continue
        for kind in kinds:
            rejected = CORRUPTIONS[kind](ex, rng, pool)
            if rejected is not None and rejected != ex.completion:
                pairs.append(Pair(ex.prompt, ex.completion, rejected, kind))
    return pairs
