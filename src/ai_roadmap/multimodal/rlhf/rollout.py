"""PPO on the language model: sample poems, score them, update with the :mod:`.ppo` losses.

One iteration (InstructGPT's PPO stage, the loop trlX and TRL's old ``PPOTrainer`` run):

1. **Rollout.** Sample a completion for each of ``batch`` training prompts from π_old.
2. **Score.** The reward model scores each (prompt, completion); the score is
   standardised by the mean and std of the SFT policy's first rollout (a fixed affine map,
   so the optimum does not move). Each token gets −β (log π_old − log π_SFT), the last one
   the score (:func:`~.ppo.kl_shaped_rewards`).
3. **Advantages.** A value head (one linear layer on the policy's last hidden state, as
   trlX's ``AutoModelForCausalLMWithValueHead``) gives V(s_t); GAE gives Â and R̂,
   Â whitened over the batch.
4. **Update.** ``epochs`` passes of minibatches over the rollout: clipped surrogate +
   ``vf_coef`` × clipped value loss, AdamW, gradient clipping.

The reference policy is a frozen copy of the SFT model. Each iteration logs the mean
reward-model score, the mean sequence KL Σ_t (log π_old − log π_SFT) over sampled tokens,
and the judge's form, rhyme, prompt and degenerate rates of the samples.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ai_roadmap.multimodal.rlhf.lm import banned_ids, decode_completion, sample
from ai_roadmap.multimodal.rlhf.ppo import gae, kl_shaped_rewards, ppo_losses, whiten
from ai_roadmap.multimodal.rlhf.prompts import Task

Scorer = Callable[[Sequence[str], Sequence[str]], torch.Tensor]  # prompts, completions → (N,)
Logger = Callable[[Sequence[Task], Sequence[str], torch.Tensor, torch.Tensor], dict[str, float]]


@dataclass(frozen=True)
class PPOConfig:
    iterations: int = 60
    batch: int = 32  # prompts per rollout
    epochs: int = 2  # PPO passes over each rollout
    minibatch: int = 16
    lr: float = 5e-5  # AdamW η (policy and value head)
    beta: float = 0.05  # KL coefficient β
    gamma: float = 1.0
    lam: float = 0.95  # GAE λ
    clip: float = 0.2  # ε of the ratio
    clip_value: float = 0.2  # ε_V of the value
    vf_coef: float = 0.1
    max_new: int = 40  # tokens sampled per completion
    temperature: float = 1.0
    clip_norm: float = 1.0
    max_seconds: float = 0.0  # wall-clock cap (0: none)


class PolicyWithValue(nn.Module):
    """A causal LM and a scalar value head on its last hidden state."""

    def __init__(self, lm: Any) -> None:
        super().__init__()
        self.lm = lm
        self.value_head = nn.Linear(lm.config.n_embd, 1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)

    def forward(
        self, ids: torch.Tensor, attention: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log π(x_{t+1} | x_≤t) and V(x_≤t): both (B, T − 1)."""
        out = self.lm(input_ids=ids, attention_mask=attention, output_hidden_states=True)
        logp = torch.log_softmax(out.logits[:, :-1].float(), -1)
        logp = torch.gather(logp, 2, ids[:, 1:, None]).squeeze(-1)
        values = self.value_head(out.hidden_states[-1][:, :-1]).squeeze(-1)
        return logp, values


@dataclass
class Rollout:
    tasks: list[Task]
    texts: list[str]
    ids: torch.Tensor  # (B, T)
    attention: torch.Tensor  # (B, T)
    mask: torch.Tensor  # (B, T − 1): 1 where the action is a completion token
    logp: torch.Tensor  # (B, T − 1) under π_old
    logp_ref: torch.Tensor
    values: torch.Tensor
    scores: torch.Tensor  # (B,) raw reward-model scores


@dataclass
class PPOReport:
    iterations: int = 0
    seconds: float = 0.0
    score_shift: float = 0.0  # the standardisation of step 2
    score_scale: float = 1.0
    history: list[dict[str, float]] = field(default_factory=list)


@torch.no_grad()
def rollout(
    policy: PolicyWithValue, ref: Any, tokenizer: Any, tasks: list[Task], scorer: Scorer,
    c: PPOConfig, gen: torch.Generator, device: str,
) -> Rollout:  # fmt: skip
    """Steps 1–2 without the standardisation: samples, their log-probs, values and scores."""
    policy.eval()
    prompts = [t.prompt for t in tasks]
    prompt_ids = torch.tensor([tokenizer(p)["input_ids"] for p in prompts], device=device)
    ids = sample(
        policy.lm, prompt_ids, c.max_new, tokenizer.eos_token_id, tokenizer.pad_token_id,
        gen, c.temperature, banned_ids(tokenizer),
    )  # fmt: skip
    attention = (ids != tokenizer.pad_token_id).long()
    mask = attention[:, 1:].clone().float()
    mask[:, : prompt_ids.shape[1] - 1] = 0  # actions before the completion are the prompt's
    logp, values = policy(ids, attention)
    ref_logits = ref(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
    logp_ref = torch.gather(torch.log_softmax(ref_logits, -1), 2, ids[:, 1:, None]).squeeze(-1)
    texts = [decode_completion(tokenizer, row, prompt_ids.shape[1]) for row in ids.tolist()]
    scores = scorer(prompts, texts).to(device)
    return Rollout(tasks, texts, ids, attention, mask, logp, logp_ref, values, scores)


def update(
    policy: PolicyWithValue, opt: torch.optim.Optimizer, ro: Rollout, normalised: torch.Tensor,
    c: PPOConfig, rng: np.random.Generator,
) -> dict[str, float]:  # fmt: skip
    """Steps 3–4 on one rollout; returns the mean losses and diagnostics."""
    rewards = kl_shaped_rewards(normalised, ro.logp, ro.logp_ref, ro.mask, c.beta)
    adv, returns = gae(rewards, ro.values, ro.mask, c.gamma, c.lam)
    adv = whiten(adv, ro.mask)
    policy.train()
    logs: dict[str, list[float]] = {
        "policy_loss": [],
        "value_loss": [],
        "clip_fraction": [],
        "approx_kl": [],
    }
    for _ in range(c.epochs):
        for idx in np.array_split(rng.permutation(len(ro.ids)), max(1, len(ro.ids) // c.minibatch)):
            i = torch.as_tensor(idx, device=ro.ids.device)
            logp, values = policy(ro.ids[i], ro.attention[i])
            parts = ppo_losses(
                logp, ro.logp[i], adv[i], values, ro.values[i], returns[i], ro.mask[i],
                c.clip, c.clip_value,
            )  # fmt: skip
            opt.zero_grad(set_to_none=True)
            (parts.policy + c.vf_coef * parts.value).backward()
            nn.utils.clip_grad_norm_(policy.parameters(), c.clip_norm)
            opt.step()
            logs["policy_loss"].append(float(parts.policy.detach()))
            logs["value_loss"].append(float(parts.value.detach()))
            logs["clip_fraction"].append(parts.clip_fraction)
            logs["approx_kl"].append(parts.approx_kl)
    policy.eval()
    return {k: float(np.mean(v)) for k, v in logs.items()}


def train_ppo(
    sft: Any, tokenizer: Any, tasks: Sequence[Task], scorer: Scorer, logger: Logger,
    c: PPOConfig, seed: int, device: str,
) -> tuple[Any, PPOReport]:  # fmt: skip
    """PPO from a copy of ``sft`` against ``scorer``; returns the tuned LM and its history.

    ``logger(tasks, texts, scores, kl)`` turns each rollout into the logged figures.
    """
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    ref = copy.deepcopy(sft).to(device).eval().requires_grad_(False)
    policy = PolicyWithValue(copy.deepcopy(sft)).to(device)
    opt = torch.optim.AdamW(policy.parameters(), lr=c.lr, weight_decay=0.0)
    report, started = PPOReport(), time.perf_counter()
    for it in range(c.iterations):
        picked = [tasks[int(i)] for i in rng.choice(len(tasks), c.batch, replace=False)]
        ro = rollout(policy, ref, tokenizer, picked, scorer, c, gen, device)
        if it == 0:
            report.score_shift = float(ro.scores.mean())
            report.score_scale = float(ro.scores.std().clamp_min(1e-3))
        normalised = (ro.scores - report.score_shift) / report.score_scale
        kl = ((ro.logp - ro.logp_ref) * ro.mask).sum(1)  # (B,) sequence KL estimate
        row = {"iteration": float(it), **logger(ro.tasks, ro.texts, ro.scores, kl)}
        row.update(update(policy, opt, ro, normalised, c, rng))
        report.history.append(row)
        report.iterations = it + 1
        if c.max_seconds and time.perf_counter() - started > c.max_seconds:
            break
    report.seconds = time.perf_counter() - started
    return policy.lm.eval(), report
