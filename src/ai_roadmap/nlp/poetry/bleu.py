"""Corpus-level character BLEU, from its definition (Papineni et al. 2002).

Each segment is a string of characters (a generated line); the tokens are its characters,
as in sacreBLEU's ``char`` tokenisation. For n = 1 … N, the *clipped* n-gram matches of a
segment against its references R count every hypothesis n-gram g at most as often as the
most generous single reference has it::

    match_n = Σ_g min(count_hyp(g), max_{r∈R} count_r(g))        total_n = Σ_g count_hyp(g)

Corpus BLEU sums matches and totals over all segments before dividing — it is *not* the
mean of per-segment scores — and multiplies the geometric mean of the precisions by a
brevity penalty::

    p_n = Σ_seg match_n / Σ_seg total_n
    BP = 1 if c > r else exp(1 − r / c)      c = Σ hypothesis lengths,
                                             r = Σ reference lengths closest to each hypothesis
    BLEU-N = BP · exp( (1/N) Σ_{n=1}^{N} log p_n )           (uniform weights 1/N)

(the closest reference length breaks ties towards the shorter, as sacreBLEU does). The
table max_{r∈R} count_r(g) depends on the references only, so a large, fixed reference
set — all held-out lines of a form — is turned into one table once
(:class:`ReferencePool`), and scoring a line costs a dictionary lookup per n-gram however
many references there are. Scores are in [0, 1] (sacreBLEU reports 100 ×).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

NGram = tuple[str, ...]


def ngram_counts(text: str, max_n: int) -> Counter[NGram]:
    """Counts of every character n-gram of ``text``, 1 ≤ n ≤ max_n."""
    return Counter(
        tuple(text[i : i + n]) for n in range(1, max_n + 1) for i in range(len(text) - n + 1)
    )


class ReferencePool:
    """A reference set as its clip table max_r count_r(g) and its set of lengths."""

    def __init__(self, references: Iterable[str], max_n: int) -> None:
        self.max_n = max_n
        self.clip: dict[NGram, int] = {}
        self.lengths: set[int] = set()
        for ref in references:
            self.lengths.add(len(ref))
            for gram, count in ngram_counts(ref, max_n).items():
                if count > self.clip.get(gram, 0):
                    self.clip[gram] = count
        if not self.lengths:
            raise ValueError("a reference pool needs at least one reference")

    def closest_length(self, length: int) -> int:
        return min(self.lengths, key=lambda r: (abs(r - length), r))


@dataclass
class BleuStats:
    """Sums over segments: clipped matches and totals per order, hypothesis/reference length."""

    max_n: int
    matches: list[int] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    hyp_len: int = 0
    ref_len: int = 0

    def __post_init__(self) -> None:
        self.matches = self.matches or [0] * self.max_n
        self.totals = self.totals or [0] * self.max_n

    def add(self, hypothesis: str, pool: ReferencePool) -> None:
        """Add one segment scored against ``pool``."""
        for gram, count in ngram_counts(hypothesis, self.max_n).items():
            n = len(gram) - 1
            self.totals[n] += count
            self.matches[n] += min(count, pool.clip.get(gram, 0))
        self.hyp_len += len(hypothesis)
        self.ref_len += pool.closest_length(len(hypothesis))

    def precisions(self) -> list[float]:
        return [m / t if t else 0.0 for m, t in zip(self.matches, self.totals, strict=True)]

    def brevity_penalty(self) -> float:
        if self.hyp_len == 0:
            return 0.0
        return 1.0 if self.hyp_len > self.ref_len else math.exp(1 - self.ref_len / self.hyp_len)

    def score(self) -> float:
        """BLEU-N = BP · exp(mean log p_n); 0 when any precision is 0 (no smoothing)."""
        precisions = self.precisions()
        if min(precisions) == 0:
            return 0.0
        return self.brevity_penalty() * math.exp(sum(map(math.log, precisions)) / self.max_n)


def corpus_bleu(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]], max_n: int = 4
) -> float:
    """BLEU-``max_n`` of hypotheses[i] against references[i] (one or more strings each)."""
    if len(hypotheses) != len(references):
        raise ValueError("one reference list per hypothesis")
    stats = BleuStats(max_n)
    for hypothesis, refs in zip(hypotheses, references, strict=True):
        stats.add(hypothesis, ReferencePool(refs, max_n))
    return stats.score()
