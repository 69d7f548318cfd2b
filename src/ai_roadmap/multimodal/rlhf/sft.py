"""Supervised fine-tuning: maximise log π(poem | prompt) on real prompt → poem pairs.

    L_SFT(θ) = − Σ_t m_t log π_θ(x_t | x_<t) / Σ_t m_t,

with ``m_t`` = 1 on the completion's tokens (its ``<eos>`` included) and 0 on the prompt:
the model learns to answer, not to write prompts. The model starts from random weights
(there is no pretrained Chinese model here), so SFT is also its language pre-training.
AdamW with a linear warm-up and linear decay, gradient-norm clipping.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ai_roadmap.multimodal.rlhf.lm import encode
from ai_roadmap.multimodal.rlhf.prompts import Example
from ai_roadmap.multimodal.rlhf.steps import optimiser_step, shuffled_batches


@dataclass(frozen=True)
class SFTConfig:
    epochs: float = 2.0  # passes over the training examples
    batch_size: int = 32  # examples per step
    lr: float = 2e-3  # AdamW peak η
    weight_decay: float = 0.01
    warmup: int = 50  # steps of linear warm-up
    clip_norm: float = 1.0
    max_seconds: float = 0.0  # wall-clock cap (0: none)


@dataclass
class SFTReport:
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)  # step, train_loss


def completion_nll(model: Any, batch: Any) -> torch.Tensor:
    """Mean −log π over the completion tokens of a batch (the SFT loss)."""
    logits = model(input_ids=batch.ids, attention_mask=batch.attention).logits[:, :-1]
    mask = batch.completion[:, 1:].float()
    nll = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(), batch.ids[:, 1:].reshape(-1), reduction="none"
    ).view_as(mask)
    return (nll * mask).sum() / mask.sum()


def train_sft(
    model: Any, tokenizer: Any, examples: Sequence[Example], c: SFTConfig, seed: int, device: str
) -> SFTReport:
    """Train ``model`` in place; returns the loss history."""
    rng = np.random.default_rng(seed)
    per_epoch = max(1, len(examples) // c.batch_size)
    total = max(1, math.ceil(c.epochs * per_epoch))
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, c.warmup)) * max(0.0, 1 - s / total)
    )
    model.to(device).train()
    report, started = SFTReport(0, 0.0), time.perf_counter()
    batches = shuffled_batches(len(examples), c.batch_size, rng)
    for step in range(total):
        picked = next(batches)
        chosen = [examples[i] for i in picked]
        batch = encode(tokenizer, [e.prompt for e in chosen], [e.completion for e in chosen])
        batch = batch.to(device)
        loss = completion_nll(model, batch)
        optimiser_step(model, opt, sched, loss, c.clip_norm)
        report.steps = step + 1
        if step % max(1, total // 20) == 0 or step == total - 1:
            report.history.append({"step": float(step + 1), "train_loss": loss.item()})
        if c.max_seconds and time.perf_counter() - started > c.max_seconds:
            break
    report.seconds = time.perf_counter() - started
    model.eval()
    return report
