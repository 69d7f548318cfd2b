"""The reward model: a scalar score r_φ(x, y) trained on preference pairs (Bradley–Terry).

Bradley & Terry (1952): P(y_w ≻ y_l | x) = σ(r_φ(x, y_w) − r_φ(x, y_l)), so maximum
likelihood on pairs (x, y_w, y_l) minimises

    L_BT(φ) = − E log σ(r_φ(x, y_w) − r_φ(x, y_l))

(InstructGPT, Ouyang et al. 2022, eq. 1; TRL's ``RewardTrainer`` computes the same loss,
which a test checks on one batch). Pair accuracy = the fraction of pairs whose chosen
side scores higher (ties count as wrong). The score is read at the sequence's last real
token (``<eos>``), which ``GPT2ForSequenceClassification`` finds from the pad token.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from ai_roadmap.multimodal.rlhf.lm import encode
from ai_roadmap.multimodal.rlhf.pairs import Pair
from ai_roadmap.multimodal.rlhf.steps import optimiser_step, shuffled_batches


def bradley_terry_loss(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """−mean log σ(r_w − r_l); ``logsigmoid`` keeps it finite for large margins."""
    return -F.logsigmoid(chosen - rejected).mean()


@dataclass(frozen=True)
class RMConfig:
    epochs: float = 2.0  # passes over the training pairs
    batch_size: int = 32  # pairs per step (2 × sequences)
    lr: float = 5e-4
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    max_seconds: float = 0.0  # wall-clock cap (0: none)


@dataclass
class RMReport:
    steps: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)  # step, loss, batch accuracy


@torch.no_grad()
def score_texts(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    completions: Sequence[str],
    device: str,
    batch_size: int = 128,
) -> torch.Tensor:
    """r_φ(x, y) of each prompt–completion pair, in order: (N,)."""
    model.eval()
    out = []
    for i in range(0, len(prompts), batch_size):
        batch = encode(tokenizer, prompts[i : i + batch_size], completions[i : i + batch_size])
        batch = batch.to(device)
        out.append(model(input_ids=batch.ids, attention_mask=batch.attention).logits[:, 0].cpu())
    return torch.cat(out) if out else torch.zeros(0)


def pair_scores(model: Any, tokenizer: Any, pairs: Sequence[Pair], device: str) -> torch.Tensor:
    """(N, 2): the scores of each pair's chosen and rejected side."""
    prompts = [p.prompt for p in pairs]
    chosen = score_texts(model, tokenizer, prompts, [p.chosen for p in pairs], device)
    rejected = score_texts(model, tokenizer, prompts, [p.rejected for p in pairs], device)
    return torch.stack([chosen, rejected], 1)


def accuracy_by_kind(pairs: Sequence[Pair], scores: torch.Tensor) -> dict[str, float]:
    """Pair accuracy overall (``all``) and per pair type."""
    right: dict[str, list[bool]] = defaultdict(list)
    for pair, (w, lose) in zip(pairs, scores.tolist(), strict=True):
        right[pair.kind].append(w > lose)
        right["all"].append(w > lose)
    return {kind: float(np.mean(v)) for kind, v in sorted(right.items())}


def train_reward_model(
    model: Any, tokenizer: Any, pairs: Sequence[Pair], c: RMConfig, seed: int, device: str
) -> RMReport:
    """Minimise L_BT over ``pairs`` with AdamW; ``model`` is trained in place."""
    rng = np.random.default_rng(seed)
    total = max(1, int(c.epochs * max(1, len(pairs) // c.batch_size)))
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / total))
    model.to(device).train()
    report, started = RMReport(0, 0.0), time.perf_counter()
    batches = shuffled_batches(len(pairs), c.batch_size, rng)
    for step in range(total):
        picked = next(batches)
        batch_pairs = [pairs[i] for i in picked]
        prompts = [p.prompt for p in batch_pairs] * 2
        texts = [p.chosen for p in batch_pairs] + [p.rejected for p in batch_pairs]
        batch = encode(tokenizer, prompts, texts).to(device)
        rewards = model(input_ids=batch.ids, attention_mask=batch.attention).logits[:, 0]
        chosen, rejected = rewards.chunk(2)  # (2B,) → (B,), (B,)
        loss = bradley_terry_loss(chosen, rejected)
        optimiser_step(model, opt, sched, loss, c.clip_norm)
        report.steps = step + 1
        if step % max(1, total // 20) == 0 or step == total - 1:
            acc = float((chosen > rejected).float().mean())
            report.history.append({"step": step + 1.0, "loss": loss.item(), "accuracy": acc})
        if c.max_seconds and time.perf_counter() - started > c.max_seconds:
            break
    report.seconds = time.perf_counter() - started
    model.eval()
    return report
