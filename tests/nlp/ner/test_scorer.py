"""Entity-level P/R/F1 against seqeval's strict IOB2 mode, malformed predictions included."""

from __future__ import annotations

import random

import pytest

from ai_roadmap.nlp.ner.scorer import entities, largest_difference, score, seqeval_reference

pytestmark = pytest.mark.reference
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def test_strict_entities_by_hand() -> None:
    tags = ["I-PER", "B-PER", "I-PER", "I-LOC", "O", "B-LOC", "B-LOC", "I-LOC", "I-PER"]
    assert entities(tags) == [(0, "PER", 1, 3), (0, "LOC", 5, 6), (0, "LOC", 6, 8)]


def test_counts_by_hand() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-PER"], ["B-ORG", "I-ORG", "O"]]
    s = score(gold, pred)
    assert (s["overall"].predicted, s["overall"].gold, s["overall"].correct) == (3, 3, 1)
    assert s["PER"].precision == 0.5 and s["PER"].recall == 1.0
    assert s["LOC"].f1 == 0.0 and s["ORG"].f1 == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_equals_seqeval_on_random_and_malformed_predictions(seed: int) -> None:
    rng = random.Random(seed)
    gold = []
    for _ in range(60):
        seq, i, n = [], 0, rng.randint(1, 15)
        while i < n:
            if rng.random() < 0.3:
                kind = rng.choice(["PER", "LOC", "ORG"])
                span = min(rng.randint(1, 4), n - i)
                seq += [f"B-{kind}"] + [f"I-{kind}"] * (span - 1)
                i += span
            else:
                seq.append("O")
                i += 1
        gold.append(seq)
    # predictions: gold with random corruption, I- after O, type switches, bare I- starts
    pred = [[t if rng.random() < 0.8 else rng.choice(LABELS) for t in g] for g in gold]
    diff = largest_difference(score(gold, pred), seqeval_reference(gold, pred))
    assert diff < 1e-12


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="sequence 0"):
        score([["O", "B-PER"]], [["O"]])
