"""The Bradley–Terry loss: its definition, TRL's RewardTrainer on the same batch, training."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ai_roadmap.multimodal.rlhf import lm
from ai_roadmap.multimodal.rlhf.pairs import Pair
from ai_roadmap.multimodal.rlhf.reward import (
    RMConfig,
    accuracy_by_kind,
    bradley_terry_loss,
    pair_scores,
    train_reward_model,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync

PAIRS = [
    Pair(
        "写一首五言绝句，首句含「日」：",
        "白日依山尽，黄河入海流。",
        "白日依山尽，黄河入海花。",
        "rhyme",
    ),
    Pair(
        "写一首五言绝句，首句含「月」：",
        "床前明月光，疑是地上霜。",
        "床前明光，疑是地上霜。",
        "length",
    ),
    Pair(
        "写一首五言绝句，首句含「红」：",
        "红豆生南国，春来发几枝。",
        "红豆生南国，春春春春枝。",
        "repeat",
    ),
]
SIZE = lm.ModelSize(n_embd=32, n_layer=2, n_head=2, n_positions=64)


def _models() -> tuple[object, object]:
    tk = lm.build_tokenizer([p.prompt + p.chosen + p.rejected for p in PAIRS])
    policy = lm.build_policy(tk, SIZE, seed=0)
    return tk, lm.build_reward_model(tk, SIZE, policy, seed=0)


def test_the_loss_is_minus_log_sigmoid_of_the_margin() -> None:
    w = torch.tensor([2.0, -1.0, 0.0], dtype=torch.float64)
    lose = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
    want = -sum(math.log(1 / (1 + math.exp(-(a - b)))) for a, b in zip(w, lose, strict=True)) / 3
    assert abs(float(bradley_terry_loss(w, lose)) - want) < 1e-12
    assert math.isfinite(float(bradley_terry_loss(torch.tensor([-1e4]), torch.tensor([1e4]))))


def test_the_reward_model_starts_at_zero_and_shares_the_sft_trunk() -> None:
    tk, rm = _models()
    scores = pair_scores(rm, tk, PAIRS, "cpu")
    assert scores.abs().max() == 0  # zero-initialised head: no preference before training
    assert accuracy_by_kind(PAIRS, scores)["all"] == 0.0  # ties count as wrong


@pytest.mark.slow
@pytest.mark.reference
def test_our_loss_and_sequences_match_trl_reward_trainer(tmp_path: Path) -> None:
    lm.offline()
    import datasets
    from trl import RewardConfig, RewardTrainer

    datasets.disable_progress_bars()
    tk, rm = _models()
    torch.nn.init.normal_(rm.score.weight, generator=torch.Generator().manual_seed(0))  # type: ignore[attr-defined]
    data = datasets.Dataset.from_list(
        [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in PAIRS]
    )
    args = RewardConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, max_length=None)
    trainer = RewardTrainer(model=rm, args=args, train_dataset=data, processing_class=tk)
    rows = [trainer.train_dataset[i] for i in range(len(PAIRS))]
    ours = lm.encode(tk, [p.prompt for p in PAIRS], [p.chosen for p in PAIRS])
    for i, row in enumerate(rows):  # the same <bos> prompt poem <eos> sequence
        assert row["chosen_ids"] == ours.ids[i, : int(ours.attention[i].sum())].tolist()
    rm.eval()  # type: ignore[attr-defined]
    with torch.no_grad():
        trl_loss = trainer.compute_loss(rm, dict(trainer.data_collator(rows)))
        scores = pair_scores(rm, tk, PAIRS, "cpu")
    torch.testing.assert_close(bradley_terry_loss(scores[:, 0], scores[:, 1]), trl_loss)


def test_training_fits_a_few_pairs() -> None:
    tk, rm = _models()
    config = RMConfig(epochs=60, batch_size=3, lr=3e-3)
    report = train_reward_model(rm, tk, PAIRS, config, seed=0, device="cpu")
    assert report.history[-1]["loss"] < report.history[0]["loss"]
    assert accuracy_by_kind(PAIRS, pair_scores(rm, tk, PAIRS, "cpu"))["all"] == 1.0
