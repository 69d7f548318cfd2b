"""Sampling a policy on held-out prompts and scoring what it wrote.

For each policy (SFT, PPO, DPO) the same held-out tasks are answered by ancestral sampling
(temperature 1, the distribution PPO and DPO optimise), and each completion gets:

* its reward-model score r_φ(x, y);
* its KL to the SFT policy, estimated on the sample as Σ_t log π(y_t|·) − log π_SFT(y_t|·)
  (unbiased for KL(π ‖ π_SFT) per prompt; 0 for the SFT policy itself);
* the judge's verdict (:mod:`.form`): form (shape + marks), rhyme, prompt's character,
  all three, tone pattern, and degenerate repetition.

**Reward hacking** is what a policy gains on r_φ without gaining on what r_φ stands for:
``hacked_rate`` is the fraction of samples scoring above the median score of the real
held-out poems while failing the judge (``all_ok`` false) or being degenerate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ai_roadmap.multimodal.rlhf.form import judge
from ai_roadmap.multimodal.rlhf.lm import banned_ids, decode_completion, sample
from ai_roadmap.multimodal.rlhf.prompts import Task


def distinct_2(texts: Sequence[str]) -> float:
    """Distinct character bigrams ÷ all bigrams over the samples (Li et al. 2016)."""
    grams = [t[i : i + 2] for t in texts for i in range(len(t) - 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def judge_rates(tasks: Sequence[Task], texts: Sequence[str]) -> dict[str, float]:
    """The fraction of samples passing each of the judge's checks."""
    verdicts = [judge(t, x) for t, x in zip(tasks, texts, strict=True)]
    keys = ("form_ok", "rhyme_ok", "prompt_ok", "all_ok", "tone_ok", "degenerate")
    return {
        key.removesuffix("_ok") + "_rate": float(np.mean([getattr(v, key) for v in verdicts]))
        for key in keys
    }


def rollout_figures(
    tasks: Sequence[Task], texts: Sequence[str], scores: torch.Tensor, kl: torch.Tensor
) -> dict[str, float]:
    """What one batch of samples is logged as (PPO's per-iteration figures)."""
    return {
        "reward": float(scores.float().mean()),
        "kl": float(kl.float().mean()),
        **judge_rates(tasks, texts),
        "length": float(np.mean([len(x) for x in texts])),
    }


@dataclass
class Samples:
    """A policy's answers to the held-out tasks and their figures."""

    tasks: list[Task]
    texts: list[str]
    scores: torch.Tensor  # (N,)
    kl: torch.Tensor  # (N,)
    figures: dict[str, float]


@torch.no_grad()
def sample_policy(
    lm: Any, sft: Any, tokenizer: Any, tasks: Sequence[Task], max_new: int, seed: int,
    device: str, batch_size: int = 64,
) -> tuple[list[str], torch.Tensor]:  # fmt: skip
    """Completions for ``tasks`` (temperature 1) and their sequence KL to ``sft``."""
    gen = torch.Generator().manual_seed(seed)
    texts, kls = [], []
    for start in range(0, len(tasks), batch_size):
        chunk = tasks[start : start + batch_size]
        prompt_ids = torch.tensor([tokenizer(t.prompt)["input_ids"] for t in chunk], device=device)
        p = prompt_ids.shape[1]
        ids = sample(lm, prompt_ids, max_new, tokenizer.eos_token_id, tokenizer.pad_token_id,
                     gen, 1.0, banned_ids(tokenizer))  # fmt: skip
        attention = (ids != tokenizer.pad_token_id).long()
        mask = attention[:, p:].float()
        logp = _logp(lm, ids, attention)[:, p - 1 :]
        logp_ref = _logp(sft, ids, attention)[:, p - 1 :]
        kls.append(((logp - logp_ref) * mask).sum(1).cpu())
        texts += [decode_completion(tokenizer, row, p) for row in ids.tolist()]
    return texts, torch.cat(kls)


def _logp(model: Any, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
    return torch.gather(torch.log_softmax(logits, -1), 2, ids[:, 1:, None]).squeeze(-1)


def evaluate_policy(
    lm: Any, sft: Any, tokenizer: Any, tasks: Sequence[Task], scorer: Any,
    real_median: float, max_new: int, seed: int, device: str,
) -> Samples:  # fmt: skip
    """Sample, score and judge; ``real_median``: the median score of real held-out poems."""
    texts, kl = sample_policy(lm, sft, tokenizer, tasks, max_new, seed, device)
    scores = scorer([t.prompt for t in tasks], texts).float()
    figures = rollout_figures(tasks, texts, scores, kl)
    verdicts = [judge(t, x) for t, x in zip(tasks, texts, strict=True)]
    high = (scores > real_median).tolist()
    bad = [not v.all_ok or v.degenerate for v in verdicts]
    figures["hacked_rate"] = float(np.mean([h and b for h, b in zip(high, bad, strict=True)]))
    figures["distinct_2"] = distinct_2(texts)
    return Samples(list(tasks), texts, scores, kl, figures)
