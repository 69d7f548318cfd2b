"""Entity-level precision, recall and F1 over IOB2 tag sequences (CoNLL's exact match).

An entity is a maximal run ``B-X I-X … I-X`` (the strict IOB2 reading, as
``seqeval``'s ``mode="strict", scheme=IOB2``): it starts at B-X and continues
while the next tag is I-X of the same type. An I-X that does not continue an entity
of its type (after O, after another type, at the start) begins no entity at all.

A predicted entity is correct only when its type, start and end all equal a gold
entity's. Per type X and over all types together (micro average):

    P = |pred ∩ gold| / |pred|,   R = |pred ∩ gold| / |gold|,   F1 = 2PR / (P + R)

with 0 where a denominator is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Entity = tuple[int, str, int, int]  # (sentence, type, start, end exclusive)


def entities(tags: Sequence[str], sentence: int = 0) -> list[Entity]:
    """The strict-IOB2 entities of one tag sequence."""
    found: list[Entity] = []
    i = 0
    while i < len(tags):
        if tags[i].startswith("B-"):
            kind = tags[i][2:]
            j = i + 1
            while j < len(tags) and tags[j] == f"I-{kind}":
                j += 1
            found.append((sentence, kind, i, j))
            i = j
        else:
            i += 1
    return found


@dataclass(frozen=True)
class Score:
    """Precision, recall, F1 and the counts behind them."""

    precision: float
    recall: float
    f1: float
    predicted: int
    gold: int
    correct: int

    @staticmethod
    def of(predicted: int, gold: int, correct: int) -> Score:
        p = correct / predicted if predicted else 0.0
        r = correct / gold if gold else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return Score(p, r, f1, predicted, gold, correct)


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Score]:
    """Per type and ``"overall"`` (micro) scores of ``predicted`` against ``gold``."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sequences but {len(predicted)} predicted")
    gold_set: set[Entity] = set()
    pred_set: set[Entity] = set()
    for n, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sequence {n}: {len(g)} gold tags but {len(p)} predicted")
        gold_set.update(entities(g, n))
        pred_set.update(entities(p, n))
    kinds = sorted({e[1] for e in gold_set | pred_set})
    out = {}
    for kind in kinds:
        gold_k = {e for e in gold_set if e[1] == kind}
        pred_k = {e for e in pred_set if e[1] == kind}
        out[kind] = Score.of(len(pred_k), len(gold_k), len(gold_k & pred_k))
    out["overall"] = Score.of(len(pred_set), len(gold_set), len(gold_set & pred_set))
    return out


def flat(scores: dict[str, Score], prefix: str = "") -> dict[str, float]:
    """``{prefix}{type}_precision`` … and ``{prefix}precision`` etc. for overall, as floats."""
    out: dict[str, float] = {}
    for kind, s in scores.items():
        head = prefix if kind == "overall" else f"{prefix}{kind}_"
        out.update({f"{head}precision": s.precision, f"{head}recall": s.recall, f"{head}f1": s.f1})
    return out


def seqeval_reference(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, tuple[float, float, float]]:
    """seqeval's strict IOB2 (P, R, F1) per type and ``"overall"`` (micro), for checking."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    report = classification_report(
        [list(g) for g in gold],
        [list(p) for p in predicted],
        mode="strict",
        scheme=IOB2,
        output_dict=True,
        zero_division=0,
    )
    out = {
        kind: (row["precision"], row["recall"], row["f1-score"])
        for kind, row in report.items()
        if not kind.endswith("avg")
    }
    micro = report["micro avg"]
    out["overall"] = (micro["precision"], micro["recall"], micro["f1-score"])
    return out


def largest_difference(
    ours: dict[str, Score], reference: dict[str, tuple[float, float, float]]
) -> float:
    """max |ours − seqeval| over every type's P, R, F1 (inf if the type sets differ)."""
    mine = {k: v for k, v in ours.items() if k == "overall" or v.gold or v.predicted}
    theirs = {k: v for k, v in reference.items()}
    if set(mine) - {"overall"} != set(theirs) - {"overall"}:
        return float("inf")
    return max(
        abs(a - b)
        for k in mine
        for a, b in zip((mine[k].precision, mine[k].recall, mine[k].f1), theirs[k], strict=True)
    )
