"""The masking rates measured from HF's collator, and the checks that must catch a bad one."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import torch

from ai_roadmap.nlp.mlm.masking import (
    expected_rates,
    masking_failures,
    measure_masking,
    tolerance,
)
from ai_roadmap.nlp.mlm.tokenizer import train_char_tokenizer
from ai_roadmap.nlp.mlm.train import mlm_collator

CHARS = [chr(0x4E00 + i) for i in range(300)]


@pytest.fixture(scope="module")
def setup() -> tuple[Any, list[list[int]]]:
    rng = random.Random(0)
    tok = train_char_tokenizer(["".join(CHARS)], min_frequency=1, max_vocab=400)
    blocks = []
    for _ in range(300):  # full blocks and short ones (padding), specials at both ends
        body = [rng.randrange(5, len(tok)) for _ in range(rng.choice([30, 62]))]
        blocks.append([tok.cls_token_id, *body, tok.sep_token_id])
    return tok, blocks


def test_tolerance_is_z_standard_errors() -> None:
    assert tolerance(0.15, 10000, z=4) == pytest.approx(4 * math.sqrt(0.15 * 0.85 / 10000))
    assert expected_rates(0.15, 100)["unchanged"] == pytest.approx(0.101)


def test_hf_collator_selects_15_percent_then_80_10_10(setup: tuple[Any, list[list[int]]]) -> None:
    tok, blocks = setup
    rates = measure_masking(mlm_collator(tok, 0.15, 1), blocks, set(tok.all_special_ids), 4, 32)
    assert rates.eligible == sum(len(b) - 2 for b in blocks)
    assert rates.masked + rates.random + rates.unchanged == rates.selected
    assert masking_failures(rates, 0.15, len(tok)) == []
    assert rates.special_selected == 0 and rates.special_changed == 0


def test_a_collator_that_masks_specials_or_skews_the_rates_fails(
    setup: tuple[Any, list[list[int]]],
) -> None:
    tok, blocks = setup
    real = mlm_collator(tok, 0.15, 2)

    def masks_cls(features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = real(features)
        batch["labels"][:, 0] = batch["input_ids"][:, 0]
        batch["input_ids"][:, 0] = tok.mask_token_id
        return batch

    bad = measure_masking(masks_cls, blocks, set(tok.all_special_ids), tok.mask_token_id, 32)
    assert bad.special_selected == len(blocks)
    assert any("special" in f for f in masking_failures(bad, 0.15, len(tok)))
    all_mask = mlm_collator(tok, 0.15, 3)
    all_mask.mask_replace_prob, all_mask.random_replace_prob = 1.0, 0.0
    skewed = measure_masking(all_mask, blocks, set(tok.all_special_ids), tok.mask_token_id, 32)
    failures = masking_failures(skewed, 0.15, len(tok))
    assert any(f.startswith("masking rate mask") for f in failures)
