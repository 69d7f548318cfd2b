"""The character vocabulary and the token sequence of a poem.

A poem becomes ``<bos> <form> c₁ c₂ … ， … 。 <eos>``: a start token, a token naming its
form (``<wujue>`` … ``<qilv>``, ``<other>``) so that a model can be asked for a form, then
every character and mark, then an end token. Characters seen fewer than ``min_freq``
times in the *training* split map to ``<unk>``; ``<pad>`` fills batches and is masked
out of the loss. Token ids: the specials first, then the characters by falling frequency
(ties by code point), so a vocabulary is fully determined by its training poems.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ai_roadmap.nlp.poetry.corpus import FORMS, OTHER, PUNCTUATION, Poem, is_hanzi

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
FORM_TOKENS = tuple(f"<{name}>" for name in (*FORMS, OTHER))
SPECIALS = (PAD, BOS, EOS, UNK, *FORM_TOKENS)


@dataclass(frozen=True)
class Vocab:
    """Token strings by id; build one with :meth:`from_poems`."""

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.tokens[: len(SPECIALS)] != SPECIALS or len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a vocabulary starts with the special tokens and has no repeats")
        object.__setattr__(self, "_index", {token: i for i, token in enumerate(self.tokens)})

    @classmethod
    def from_poems(cls, poems: Iterable[Poem], min_freq: int = 1) -> Vocab:
        counts = Counter(char for poem in poems for char in poem.body)
        for mark in PUNCTUATION:  # always present, so every form can be punctuated
            counts[mark] = max(counts[mark], min_freq)
        chars = sorted(
            (c for c, n in counts.items() if n >= min_freq), key=lambda c: (-counts[c], c)
        )
        return cls((*SPECIALS, *chars))

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self._index  # type: ignore[attr-defined]

    def id(self, token: str) -> int:
        """The id of ``token``; ``<unk>``'s for an unknown character."""
        return self._index.get(token, self._index[UNK])  # type: ignore[attr-defined]

    def form_id(self, form: str) -> int:
        return self.id(f"<{form}>")

    @property
    def pad(self) -> int:
        return 0

    @property
    def bos(self) -> int:
        return 1

    @property
    def eos(self) -> int:
        return 2

    @property
    def unk(self) -> int:
        return 3

    def hanzi_ids(self) -> list[int]:
        """Ids a line's character slot may take: the characters (no marks, no specials)."""
        return [i for i, token in enumerate(self.tokens) if len(token) == 1 and is_hanzi(token)]

    def encode(self, poem: Poem) -> list[int]:
        """``<bos> <form> …characters and marks… <eos>`` as ids."""
        return [self.bos, self.form_id(poem.form), *map(self.id, poem.body), self.eos]

    def decode(self, ids: Iterable[int]) -> str:
        """The characters and marks of ``ids`` (specials dropped, ``<unk>`` kept as □)."""
        out = []
        for i in ids:
            token = self.tokens[i]
            if i == self.unk:
                out.append("□")
            elif token not in SPECIALS:
                out.append(token)
        return "".join(out)

    def to_json(self) -> str:
        """The token strings by id as a JSON list (the ``vocab.json`` of a model folder)."""
        return json.dumps(list(self.tokens), ensure_ascii=False)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Vocab:
        return cls(tuple(json.loads(path.read_text(encoding="utf-8"))))
