"""The figures a policy's samples are judged by."""

from __future__ import annotations

import torch

from ai_roadmap.multimodal.rlhf.judge import distinct_2, judge_rates, rollout_figures
from ai_roadmap.multimodal.rlhf.prompts import Task
from ai_roadmap.nlp.poetry.corpus import FORMS

TASK = Task(FORMS["wujue"], "日")
GOOD = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
REPEATED = "日日日日日，日日日日流。日日日日日，日日日日楼。"


def test_distinct_2_counts_distinct_bigrams_over_all_samples() -> None:
    assert distinct_2(["abcd"]) == 1.0
    assert distinct_2(["aaaa", "aaaa"]) == 1 / 6
    assert distinct_2([]) == 0.0


def test_judge_rates_are_fractions_of_samples() -> None:
    rates = judge_rates([TASK, TASK], [GOOD, REPEATED])
    assert rates["form_rate"] == 1.0 and rates["prompt_rate"] == 1.0
    assert rates["degenerate_rate"] == 0.5 and rates["all_rate"] == 1.0
    broken = judge_rates([TASK], ["白日依山尽，黄河入海流。"])
    assert broken["form_rate"] == 0.0 and broken["all_rate"] == 0.0


def test_rollout_figures_average_reward_and_kl() -> None:
    row = rollout_figures(
        [TASK, TASK], [GOOD, REPEATED], torch.tensor([1.0, 3.0]), torch.tensor([0.5, 1.5])
    )
    assert row["reward"] == 2.0 and row["kl"] == 1.0 and row["length"] == len(GOOD)
