"""s4.rlhf end to end at smoke through the runner: figures, checks, artefacts, the registry."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]
ITEM = "s4.rlhf"
POLICIES = ("sft", "ppo", "dpo")
RATES = ("form_rate", "rhyme_rate", "prompt_rate", "all_rate", "tone_rate", "degenerate_rate",
         "hacked_rate", "distinct_2")  # fmt: skip
ARTIFACTS = {"training.png", "reward_model.png", "ppo.png", "compare.png", "samples.md"}


def test_smoke_through_the_runner_reports_registers_and_loads(roadmap_home: Path) -> None:
    from ai_roadmap import runner
    from ai_roadmap.multimodal.rlhf import lm
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    report = runner.run_milestone(ITEM, "smoke")
    m = report.metrics
    assert report.proxy and report.verdict == "not measured"
    assert m["checks_failed"] == 0  # PPO reached the bandit's known optimum
    assert m["bandit_tv_to_optimum"] < 0.05 and m["bandit_best_arm_prob"] > 0.95
    for name in ("reward_model_accuracy", "reward_model_unseen_accuracy", "real_all_rate"):
        assert 0.0 <= m[name] <= 1.0, name
    for kind in ("length", "rhyme", "repeat", "prompt", "shuffle", "line_count"):
        assert 0.0 <= m[f"rm_accuracy_{kind}"] <= 1.0, kind
    for policy in POLICIES:
        assert all(0.0 <= m[f"{policy}_{rate}"] <= 1.0 for rate in RATES), policy
        assert math.isfinite(m[f"{policy}_reward"]) and math.isfinite(m[f"{policy}_kl"])
    assert m["sft_kl"] == 0.0  # the SFT policy against itself
    assert m["ppo_iterations"] == 3 and m["dpo_steps"] == 4 and m["train_pairs"] > 0
    assert set(report.artifacts) >= ARTIFACTS
    assert any("reward hacking" in note for note in report.notes)

    lm.offline()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, version = champion_model_dir(get_settings(), ITEM, roadmap_home / "download")
    assert version == "1"
    model = AutoModelForCausalLM.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompt = "写一首五言绝句，首句含「月」："
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
    assert ids.shape[1] == 1 + len(prompt) and model(input_ids=ids).logits.shape[-1] == len(
        tokenizer
    )


def test_a_bad_override_is_refused_in_one_line_before_any_work(tmp_path: Path) -> None:
    from ai_roadmap.config import compose
    from ai_roadmap.errors import UsageError
    from ai_roadmap.milestones.s4.rlhf import run

    cfg = compose(ITEM, "smoke", ["pairs.unseen=rhyme"])
    cfg.output_dir = str(tmp_path / "out")
    with pytest.raises(UsageError) as caught:
        run(cfg)
    assert "pairs.unseen=rhyme" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()  # nothing half-written
