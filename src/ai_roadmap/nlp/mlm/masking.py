"""What the MLM collator actually does, measured on real batches.

BERT's recipe: select each non-special token with probability p = 0.15; of the selected,
replace 80 % by ``[MASK]``, 10 % by a random token, leave 10 % unchanged; the loss is
taken on the selected positions only (labels −100 elsewhere). A random replacement
can draw the original token (probability 1/V), so it is counted as *unchanged*: the
expected rates are 0.8, 0.1·(1 − 1/V) and 0.1 + 0.1/V.

Each measured rate is a proportion over n independent draws, so it lies within
z·√(p(1 − p)/n) of its expectation with high probability (z = 4: a false alarm about
once in 16 000 runs); :func:`tolerance` gives that bound for the sample at hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class MaskingRates:
    eligible: int  # non-special, non-padding positions
    selected: int  # positions with a label (the loss is taken there)
    masked: int  # selected → [MASK]
    random: int  # selected → another token
    unchanged: int  # selected → the same token
    special_selected: int  # special or padding positions that got a label (must be 0)
    special_changed: int  # special or padding positions whose input changed (must be 0)

    def rates(self) -> dict[str, float]:
        chosen = max(self.selected, 1)
        return {
            "selected": self.selected / max(self.eligible, 1),
            "mask": self.masked / chosen,
            "random": self.random / chosen,
            "unchanged": self.unchanged / chosen,
        }


def tolerance(p: float, n: int, z: float = 4.0) -> float:
    """z standard errors of a proportion p estimated from n draws."""
    return z * math.sqrt(p * (1 - p) / max(n, 1))


def expected_rates(probability: float, vocab_size: int) -> dict[str, float]:
    """The collator's rates in expectation (random draws may hit the original token)."""
    hit = 1 / vocab_size
    return {
        "selected": probability,
        "mask": 0.8,
        "random": 0.1 * (1 - hit),
        "unchanged": 0.1 + 0.1 * hit,
    }


def measure_masking(
    collate: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]],
    blocks: Sequence[Sequence[int]],
    special_ids: set[int],
    mask_id: int,
    batch_size: int,
) -> MaskingRates:
    """Run the collator over ``blocks`` and count what happened to every position."""
    counts = dict.fromkeys(MaskingRates.__dataclass_fields__, 0)
    specials = torch.tensor(sorted(special_ids))
    for start in range(0, len(blocks), batch_size):
        chunk = blocks[start : start + batch_size]
        batch = collate([{"input_ids": list(b)} for b in chunk])
        width = batch["input_ids"].shape[1]
        original = torch.full((len(chunk), width), -1, dtype=torch.long)  # -1: padding
        for row, block in enumerate(chunk):
            original[row, : len(block)] = torch.tensor(block)
        special = torch.isin(original, specials) | (original < 0)
        chosen = batch["labels"] != -100
        now = batch["input_ids"]
        counts["eligible"] += int((~special).sum())
        counts["selected"] += int((chosen & ~special).sum())
        counts["masked"] += int((chosen & (now == mask_id)).sum())
        counts["random"] += int((chosen & (now != mask_id) & (now != original)).sum())
        counts["unchanged"] += int((chosen & (now == original)).sum())
        counts["special_selected"] += int((chosen & special).sum())
        counts["special_changed"] += int((special & (original >= 0) & (now != original)).sum())
    return MaskingRates(**counts)


def masking_failures(rates: MaskingRates, probability: float, vocab_size: int) -> list[str]:
    """The rates outside their tolerance, and any special token touched, as sentences."""
    expected = expected_rates(probability, vocab_size)
    measured = rates.rates()
    failures = []
    for name, p in expected.items():
        n = rates.eligible if name == "selected" else rates.selected
        if abs(measured[name] - p) > tolerance(p, n):
            failures.append(
                f"masking rate {name} = {measured[name]:.4f}, expected {p:.4f} ± "
                f"{tolerance(p, n):.4f} (n = {n})"
            )
    if rates.special_selected or rates.special_changed:
        failures.append(
            f"special tokens masked: {rates.special_selected} labelled, "
            f"{rates.special_changed} changed"
        )
    return failures
