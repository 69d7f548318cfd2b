"""The baseline: a character n-gram language model with interpolated Kneser–Ney smoothing.

Trained on the same token sequences as the LSTM and decoded by the same code (it is a
:class:`~ai_roadmap.nlp.poetry.generate.Stepper`), it says what BLEU a model gets from
local character statistics alone — the figure the LSTM has to beat to mean anything.

Interpolated Kneser–Ney (Kneser & Ney 1995; Chen & Goodman 1999, §3.5), order n, one
discount D_k per order k. For the highest order, with raw counts c and context h of the
n − 1 previous tokens::

    P_n(w | h) = max(c(h w) − D_n, 0) / c(h)  +  D_n · N₁₊(h •) / c(h) · P_{n−1}(w | h′)

where h′ drops the oldest token of h and N₁₊(h •) = |{w : c(h w) > 0}| is the number of
distinct followers of h — exactly the mass the discount removed, handed down. Lower
orders k < n replace the count c(h w) by the *continuation count*
N₁₊(• h w) = |{v : c(v h w) > 0}|, the number of distinct contexts the n-gram follows
(a character that only ever follows one other gets little weight when backed off to), and
the recursion ends at the uniform distribution 1/V. A context never seen (c(h) = 0)
backs off entirely: P_k(w | h) = P_{k−1}(w | h′). Discounts from the count-of-counts,
D_k = n₁ / (n₁ + 2 n₂) (Ney, Essen & Kneser 1994). Sequences are left-padded with
``<bos>`` so every position has a full context.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor

Context = tuple[int, ...]


@dataclass
class _Followers:
    """The followers of one context: ids, their (continuation) counts, the total, N₁₊."""

    ids: np.ndarray
    counts: np.ndarray
    total: float
    types: int


class KneserNeyLM:
    """Interpolated Kneser–Ney over token ids ``0 … vocab_size − 1``."""

    def __init__(self, order: int, vocab_size: int, bos: int = 1) -> None:
        if order < 1 or vocab_size < 1:
            raise ValueError("order and vocab_size must be positive")
        self.order, self.vocab_size, self.bos = order, vocab_size, bos
        self.tables: list[dict[Context, _Followers]] = []  # tables[k − 1]: order k
        self.discounts: list[float] = []

    def fit(self, sequences: Iterable[Sequence[int]]) -> KneserNeyLM:
        raw: dict[Context, Counter[int]] = defaultdict(Counter)
        pad = [self.bos] * (self.order - 1)
        for seq in sequences:
            padded = [*pad, *seq]
            for t in range(len(pad) + 1, len(padded)):
                raw[tuple(padded[t - self.order + 1 : t])][padded[t]] += 1
        by_order = [raw]
        for _ in range(self.order - 1):  # continuation counts of the next order down
            higher = by_order[0]
            lower: dict[Context, Counter[int]] = defaultdict(Counter)
            for context, followers in higher.items():
                for word in followers:
                    lower[context[1:]][word] += 1
            by_order.insert(0, lower)
        self.tables = [self._table(counts) for counts in by_order]
        self.discounts = [self._discount(counts) for counts in by_order]
        self._distribution.cache_clear()
        return self

    @staticmethod
    def _table(counts: dict[Context, Counter[int]]) -> dict[Context, _Followers]:
        table = {}
        for context, followers in counts.items():
            ids = np.fromiter(followers.keys(), dtype=np.int64, count=len(followers))
            values = np.fromiter(followers.values(), dtype=np.float64, count=len(followers))
            table[context] = _Followers(ids, values, float(values.sum()), len(followers))
        return table

    @staticmethod
    def _discount(counts: dict[Context, Counter[int]]) -> float:
        of_counts = Counter(n for followers in counts.values() for n in followers.values())
        n1, n2 = of_counts.get(1, 0), of_counts.get(2, 0)
        return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 else 0.5

    def distribution(self, context: Sequence[int]) -> np.ndarray:
        """P(· | context) over the whole vocabulary (V,), summing to 1."""
        context = tuple(context)[-(self.order - 1) :] if self.order > 1 else ()
        pad = (self.bos,) * (self.order - 1 - len(context))
        return self._distribution((*pad, *context))

    @lru_cache(maxsize=8192)  # noqa: B019 — one model per run; the cache dies with it
    def _distribution(self, context: Context) -> np.ndarray:
        p = np.full(self.vocab_size, 1.0 / self.vocab_size)
        for k in range(1, self.order + 1):
            followers = self.tables[k - 1].get(context[len(context) - (k - 1) :])
            if followers is None:  # unseen context: back off completely
                continue
            d = self.discounts[k - 1]
            p = p * (d * followers.types / followers.total)
            p[followers.ids] += np.maximum(followers.counts - d, 0.0) / followers.total
        p.setflags(write=False)
        return p

    def mean_nll(self, sequences: Iterable[Sequence[int]]) -> float:
        """−(1/N) Σ log P(x_t | x_<t) over every predicted token (nats per token)."""
        total, count = 0.0, 0
        for seq in sequences:
            for t in range(1, len(seq)):
                total -= math.log(self.distribution(seq[:t])[seq[t]])
                count += 1
        return total / max(count, 1)


class NGramStepper:
    """The n-gram model as a decoder :class:`~ai_roadmap.nlp.poetry.generate.Stepper`."""

    def __init__(self, model: KneserNeyLM) -> None:
        self.model = model

    def _logprobs(self, contexts: list[Context]) -> Tensor:
        probs = np.stack([self.model.distribution(c) for c in contexts])  # (B, V)
        return torch.from_numpy(np.log(probs)).float()

    def _context(self, tokens: Sequence[int]) -> Context:
        keep = self.model.order - 1
        return tuple(tokens)[-keep:] if keep else ()

    def start(self, prefix: Tensor) -> tuple[Tensor, Any]:
        contexts = [self._context(row) for row in prefix.tolist()]
        return self._logprobs(contexts), contexts

    def step(self, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        pairs = zip(state, tokens.tolist(), strict=True)
        contexts = [self._context((*c, t)) for c, t in pairs]
        return self._logprobs(contexts), contexts

    def select(self, state: Any, rows: Tensor) -> Any:
        return [state[i] for i in rows.tolist()]
