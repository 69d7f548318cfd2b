"""Masks as explicit boolean matrices: ``True`` where a query may look at a key.

Attention weights are softmax(S + M) with S = QKᵀ/√d and an additive mask
M_ij = 0 where query i may attend to key j and −∞ where it may not, so exp(−∞) = 0
removes key j from row i's weighted average. We keep the boolean matrix A (A_ij = [allowed])
as the object users build and read, and turn it into M only inside attention.

**Causal.** A language model predicts token t from tokens ≤ t, so query i may see key j
only when j ≤ i (with a cache of ``offset`` earlier keys, when j ≤ i + offset)::

    A = [[1 0 0]
         [1 1 0]
         [1 1 1]]           lower triangle, diagonal included

**Padding.** A batch pads short sequences with ``<pad>``; no query may attend to a pad
key, so column j is switched off for every query: A_ij = [key j is real]. Masks combine
by logical AND and broadcast over the batch and head axes: (B, 1, T_q, T_k).

**Empty rows.** A query whose row allows no key at all (a pad query at the start of a
left-padded sequence) would get softmax(−∞, …, −∞) = 0/0. :func:`~.attention.attend`
gives such a row zero weights (its output is 0), and its position is ignored by the loss.
"""

from __future__ import annotations

import torch
from torch import Tensor


def causal_mask(t_q: int, t_k: int | None = None, device: torch.device | str = "cpu") -> Tensor:
    """(T_q, T_k) bool, A_ij = [j ≤ i + T_k − T_q]: the last T_q queries of a T_k sequence.

    With no cache T_q = T_k and this is the lower triangle; with a cache of T_k − T_q earlier
    keys, query i sits at position i + T_k − T_q.
    """
    t_k = t_q if t_k is None else t_k
    offset = t_k - t_q
    rows = torch.arange(t_q, device=device)[:, None] + offset  # (T_q, 1) query positions
    cols = torch.arange(t_k, device=device)[None, :]  # (1, T_k) key positions
    return cols <= rows


def padding_mask(keep: Tensor) -> Tensor:
    """(B, 1, 1, T_k) bool from ``keep`` (B, T_k), True for real tokens: A_bij = keep[b, j]."""
    return keep[:, None, None, :].bool()


def keep_of(ids: Tensor, pad_id: int) -> Tensor:
    """(B, T) bool: True where ``ids`` is not the pad token."""
    return ids != pad_id


def combine(*masks: Tensor | None) -> Tensor | None:
    """The logical AND of the given masks (broadcast); ``None`` when none is given."""
    out: Tensor | None = None
    for mask in masks:
        if mask is not None:
            out = mask if out is None else out & mask
    return out


def additive(allowed: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """M = 0 where allowed, −∞ elsewhere (the form ``softmax(S + M)`` takes)."""
    zeros = torch.zeros(allowed.shape, dtype=dtype, device=allowed.device)
    return zeros.masked_fill(~allowed, float("-inf"))
