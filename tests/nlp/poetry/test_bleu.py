"""Our corpus BLEU against sacreBLEU: character tokens, multi-reference, corpus-level.

sacreBLEU is run with ``tokenize="char"`` (every character a token), no smoothing and
``max_ngram_order`` = N, and reports 100 × BLEU. Random cases draw lines from a small
alphabet so that n-grams repeat and clipping matters; a deliberately wrong variant
(unclipped counts) must disagree with sacreBLEU on the same cases.
"""

from __future__ import annotations

import math
import random

import pytest
from sacrebleu.metrics import BLEU

from ai_roadmap.nlp.poetry.bleu import BleuStats, ReferencePool, corpus_bleu, ngram_counts
from ai_roadmap.nlp.poetry.corpus import Poem
from ai_roadmap.nlp.poetry.evaluate import Continuation, multi_reference_stats, strict_stats

pytestmark = pytest.mark.reference

ALPHABET = "春风花月"
RTOL = 1e-9


def sacre(hypotheses: list[str], references: list[list[str]], max_n: int) -> float:
    """sacreBLEU corpus score / 100; references[i] are the references of hypothesis i."""
    streams = [list(stream) for stream in zip(*references, strict=True)]
    bleu = BLEU(tokenize="char", smooth_method="none", max_ngram_order=max_n)
    return bleu.corpus_score(hypotheses, streams).score / 100


def random_case(rng: random.Random, segments: int, refs: int) -> tuple[list[str], list[list[str]]]:
    def line() -> str:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(5, 12)))

    return [line() for _ in range(segments)], [
        [line() for _ in range(refs)] for _ in range(segments)
    ]


def unclipped_bleu(hypotheses: list[str], references: list[list[str]], max_n: int) -> float:
    """WRONG on purpose: a hypothesis n-gram counts fully if any reference has it."""
    matches, totals, c, r = [0] * max_n, [0] * max_n, 0, 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        known = set().union(*(ngram_counts(ref, max_n) for ref in refs))
        for gram, count in ngram_counts(hyp, max_n).items():
            totals[len(gram) - 1] += count
            matches[len(gram) - 1] += count if gram in known else 0
        c += len(hyp)
        r += ReferencePool(refs, max_n).closest_length(len(hyp))
    if min(matches) == 0:
        return 0.0
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / max_n)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("max_n", "refs"), [(3, 1), (3, 4), (2, 3), (4, 2)])
def test_random_corpora_match_sacrebleu(seed: int, max_n: int, refs: int) -> None:
    hypotheses, references = random_case(random.Random(seed), segments=40, refs=refs)
    expected = sacre(hypotheses, references, max_n)
    assert expected > 0  # the alphabet is small enough for every order to match somewhere
    assert corpus_bleu(hypotheses, references, max_n) == pytest.approx(expected, rel=RTOL)


def test_brevity_penalty_matches_sacrebleu() -> None:
    hypotheses, references = ["春风", "山水"], [["春风花月"], ["山水云月"]]  # c = 4, r = 8
    expected = sacre(hypotheses, references, 2)
    assert expected == pytest.approx(math.exp(1 - 8 / 4), rel=RTOL)  # all n-grams match
    assert corpus_bleu(hypotheses, references, 2) == pytest.approx(expected, rel=RTOL)


def test_a_tie_in_closest_reference_length_goes_to_the_shorter() -> None:
    # "春风花月" (4) lies between references of 6 and 2: r = 2, so no brevity penalty;
    # taking the longer would give r = 6 + 3 > c = 6 and a penalty
    hypotheses = ["春风花月", "山水"]
    references = [["春风花月山水", "春风"], ["山水云月春", "山水云"]]
    stats = BleuStats(2)
    for hyp, refs in zip(hypotheses, references, strict=True):
        stats.add(hyp, ReferencePool(refs, 2))
    assert (stats.hyp_len, stats.ref_len, stats.brevity_penalty()) == (6, 5, 1.0)
    assert stats.score() == pytest.approx(sacre(hypotheses, references, 2), rel=RTOL)


def test_corpus_level_is_not_the_mean_of_sentence_scores() -> None:
    hypotheses, references = ["春风花月", "山水云山水云"], [["春风花月"], ["山水云月春风"]]
    ours = corpus_bleu(hypotheses, references, 3)
    assert ours == pytest.approx(sacre(hypotheses, references, 3), rel=RTOL)
    per_line = [corpus_bleu([h], [r], 3) for h, r in zip(hypotheses, references, strict=True)]
    assert ours != pytest.approx(sum(per_line) / 2, rel=1e-3)


def test_a_repeated_ngram_is_clipped_by_the_most_generous_reference() -> None:
    # "月月月月" has four 月: one reference has 1, the other 2, so 2 unigrams match
    stats = BleuStats(1)
    stats.add("月月月月", ReferencePool(["月山", "月月水"], 1))
    assert stats.matches == [2] and stats.totals == [4]
    assert stats.score() == pytest.approx(sacre(["月月月月"], [["月山", "月月水"]], 1), rel=RTOL)


@pytest.mark.parametrize("seed", range(6))
def test_the_unclipped_variant_disagrees_with_sacrebleu(seed: int) -> None:
    hypotheses, references = random_case(random.Random(100 + seed), segments=15, refs=2)
    expected = sacre(hypotheses, references, 3)
    assert unclipped_bleu(hypotheses, references, 3) > expected * (1 + 1e-3)


def test_a_shared_pool_scores_like_sacrebleu_with_the_pool_as_every_reference() -> None:
    rng = random.Random(5)
    pool_lines = ["".join(rng.choice(ALPHABET) for _ in range(5)) for _ in range(12)]
    hypotheses = ["".join(rng.choice(ALPHABET) for _ in range(5)) for _ in range(20)]
    pool = ReferencePool(pool_lines, 3)
    stats = BleuStats(3)
    for hyp in hypotheses:
        stats.add(hyp, pool)
    expected = sacre(hypotheses, [pool_lines] * len(hypotheses), 3)
    assert stats.score() == pytest.approx(expected, rel=RTOL)


def test_protocols_a_and_b_match_sacrebleu_on_a_tiny_test_set() -> None:
    test = [
        Poem(("春风花月山，", "山水云月春。", "花月山水云，", "云山春风花。")),
        Poem(("山水云月春，", "春风花月山。", "月山水云风，", "风花春山水。")),
    ]
    generated = [
        ("山水云月花", "花月山水春", "云山春风月"),
        ("春风花月水", "月山水云春", "风花春山月"),
    ]
    continuations = [Continuation(p, g) for p, g in zip(test, generated, strict=True)]
    from ai_roadmap.nlp.poetry.evaluate import reference_pools

    pools = reference_pools(test)
    by_parity = {
        parity: sorted({v for p in test for i, v in enumerate(p.verses()) if i % 2 == parity})
        for parity in (0, 1)
    }
    hyps = [line for g in generated for line in g]
    refs_a = [by_parity[i % 2] for _g in generated for i in range(1, 4)]
    width = max(len(r) for r in refs_a)  # sacreBLEU wants equal counts: repeat the last
    padded = [r + [r[-1]] * (width - len(r)) for r in refs_a]
    assert multi_reference_stats(continuations, pools).score() == pytest.approx(
        sacre(hyps, padded, 3), rel=RTOL
    )
    refs_b = [[v] for p in test for v in p.verses()[1:]]
    assert strict_stats(continuations).score() == pytest.approx(sacre(hyps, refs_b, 3), rel=RTOL)
    assert strict_stats(continuations).score() < multi_reference_stats(continuations, pools).score()
