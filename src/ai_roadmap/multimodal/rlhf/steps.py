"""The two pieces every RLHF training loop here shares: shuffled batches and one AdamW step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


def shuffled_batches(n: int, size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Indices of ``size`` examples at a time, a fresh permutation of ``range(n)`` as needed."""
    order = np.array([], dtype=int)
    while True:
        if len(order) < size:
            order = np.concatenate([order, rng.permutation(n)])
        picked, order = order[:size], order[size:]
        yield picked


def optimiser_step(model: Any, opt: Any, sched: Any, loss: torch.Tensor, clip_norm: float) -> None:
    """Backpropagate ``loss``, clip the gradient norm, step the optimiser and its schedule."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    opt.step()
    sched.step()
