"""The held-out loss against the model's own, one Trainer phase, the saved encoder folder."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from ai_roadmap.nlp.mlm.blocks import pack_blocks
from ai_roadmap.nlp.mlm.corpus import shared_texts
from ai_roadmap.nlp.mlm.model import EncoderSize, build_model, count_parameters
from ai_roadmap.nlp.mlm.tokenizer import train_char_tokenizer
from ai_roadmap.nlp.mlm.train import PhaseOptions, fixed_batches, heldout_loss, train_phase

pytestmark = pytest.mark.usefixtures("one_torch_thread")
LINE = "床前明月光，疑是地上霜。举头望明月，低头思故乡。"  # 24 characters + [SEP] = 25 tokens
TINY = EncoderSize(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, dropout=0.0)


@pytest.fixture(scope="module")
def parts() -> tuple[Any, list[list[int]]]:
    tok = train_char_tokenizer([LINE], min_frequency=1, max_vocab=50, max_length=32)
    return tok, pack_blocks(tok, [LINE] * 12, 32)  # 300 tokens: 10 full blocks of 30 + 2


def test_heldout_loss_is_the_token_weighted_mean_of_the_models_loss(
    parts: tuple[Any, list[list[int]]],
) -> None:
    tok, blocks = parts
    torch.manual_seed(0)
    model = build_model(TINY, tok, 32).eval()
    batches = fixed_batches(tok, blocks, 0.3, 3, seed=5)
    again = fixed_batches(tok, blocks, 0.3, 3, seed=5)
    assert all(torch.equal(a["labels"], b["labels"]) for a, b in zip(batches, again, strict=True))
    with torch.no_grad():
        outs = [(float(model(**b).loss), int((b["labels"] != -100).sum())) for b in batches]
    weighted = sum(loss * n for loss, n in outs) / sum(n for _, n in outs)
    assert heldout_loss(model, batches) == pytest.approx(weighted, rel=1e-5)
    # an untrained model is near the uniform guess, ln V
    assert abs(heldout_loss(model, batches) - math.log(len(tok))) < 0.5


def test_the_position_table_covers_a_full_block(parts: tuple[Any, list[list[int]]]) -> None:
    tok, _ = parts
    model = build_model(TINY, tok, 32)
    ids = torch.full((1, 32), 7)
    assert model(input_ids=ids).logits.shape == (1, 32, len(tok))
    assert count_parameters(model) < sum(p.numel() for p in model.state_dict().values())


@pytest.mark.slow
def test_a_phase_lowers_the_loss_and_counts_its_tokens(
    parts: tuple[Any, list[list[int]]], tmp_path: Path
) -> None:
    tok, blocks = parts
    torch.manual_seed(0)
    model = build_model(TINY, tok, 32)
    probe = fixed_batches(tok, blocks, 0.15, 8, seed=1)
    before = heldout_loss(model, probe)
    options = PhaseOptions(max_steps=60, batch_size=5, lr=0.01, log_every=10, eval_every=30)
    report = train_phase(model, tok, blocks, options, tmp_path / "t", {"probe": probe})
    assert report.steps == 60 and report.stopped == "max_steps"
    assert report.tokens_seen == 60 * 5 * 32  # full blocks, two full batches per epoch
    assert heldout_loss(model, probe) < before - 1.0
    assert [r["step"] for r in report.history if "probe" in r] == [30, 60]
    assert len([r for r in report.history if "train" in r]) == 6
    assert not list((tmp_path / "t").glob("checkpoint-*"))


def test_shared_texts_counts_held_out_texts_equal_to_a_training_text() -> None:
    assert shared_texts(["甲", "乙", "丙"], ["乙", "丁"]) == 1
    assert shared_texts(["甲乙"], ["甲", "乙"]) == 0
