"""Scaled dot-product attention and multi-head attention, from the equations.

**One head** (Vaswani et al. 2017, eq. 1). Queries Q (T_q, d_k), keys K (T_k, d_k),
values V (T_k, d_v) and a boolean mask A (:mod:`.masks`)::

    S = Q Kᵀ / √d_k                       scores (T_q, T_k)
    S_ij ← −∞  where A_ij is False         masked keys get weight exp(−∞) = 0
    P = softmax(S) row by row              each row a distribution over keys
    O = P V                                (T_q, d_v): a weighted average of values

Why √d_k: for q, k with independent unit-variance entries, q·k has variance d_k; dividing
keeps the scores at unit scale, so the softmax does not saturate (near one-hot rows have
vanishing gradients) as the width grows.

**Many heads** (§3.2.2). With model width d and h heads of width d_h = d / h::

    Q = X W_Q,  K = X_kv W_K,  V = X_kv W_V            (T, d) each, W_* ∈ R^{d×d}
    split:  (T, d) → (h, T, d_h)                      head i takes columns i·d_h … (i+1)·d_h − 1
    O_i = attention(Q_i, K_i, V_i, A)                 h independent heads
    MultiHead(X) = concat(O_1 … O_h) W_O              (T, d)

Each head attends with its own d_h-dimensional projections, so different heads can look
at different positions; the cost is that of one head of full width. ``torch.nn``'s
``MultiheadAttention`` computes the same function (its ``in_proj_weight`` stacks W_Q, W_K,
W_V as rows), which :mod:`.reference` checks with copied weights.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ai_roadmap.nlp.transformer.cache import KVCache
from ai_roadmap.nlp.transformer.positions import apply_rotary


def attend(
    q: Tensor, k: Tensor, v: Tensor, allowed: Tensor | None = None, dropout: float = 0.0
) -> tuple[Tensor, Tensor]:
    """O = softmax(QKᵀ/√d_k, masked) V and the weights P.

    q (…, T_q, d_k), k (…, T_k, d_k), v (…, T_k, d_v), allowed broadcastable to
    (…, T_q, T_k). Rows with no allowed key get zero weights. ``dropout`` (training only)
    drops weights after the softmax, as the original Transformer does.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (…, T_q, T_k)
    if allowed is not None:
        scores = scores.masked_fill(~allowed, float("-inf"))
        empty = ~allowed.any(dim=-1, keepdim=True)  # (…, T_q, 1) rows with no key
        scores = scores.masked_fill(empty, 0.0)  # softmax of a finite row, zeroed below
    weights = scores.softmax(dim=-1)
    if allowed is not None:
        weights = weights.masked_fill(empty, 0.0)
    if dropout > 0:
        weights = nn.functional.dropout(weights, dropout)
    return weights @ v, weights  # (…, T_q, d_v), (…, T_q, T_k)


class MultiHeadAttention(nn.Module):
    """h heads of scaled dot-product attention with Q, K, V and output projections.

    ``rotary`` applies RoPE (:func:`~.positions.apply_rotary`) to queries and keys, the
    positions counted from the cache's length.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        rotary: bool = False,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        self.n_heads, self.head_dim = n_heads, d_model // n_heads
        self.dropout, self.rotary = dropout, rotary
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)  # W_Q
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)  # W_K
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)  # W_V
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)  # W_O

    def split(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        return x.view(b, t, self.n_heads, self.head_dim).transpose(
            1, 2
        )  # (B, T, d) -> (B, h, T, d_h)

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        allowed: Tensor | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        start: int = 0,
    ) -> tuple[Tensor, Tensor]:
        """Output (B, T_q, d) and weights (B, h, T_q, T_k); key and value default to query.

        With ``cache``, this step's keys and values are appended to layer ``layer`` and the
        queries attend over everything stored; ``start`` is the position of query 0.
        """
        key = query if key is None else key
        value = key if value is None else value
        q, k, v = (
            self.split(self.q_proj(query)),
            self.split(self.k_proj(key)),
            self.split(self.v_proj(value)),
        )
        if self.rotary:
            q = apply_rotary(q, torch.arange(start, start + q.shape[2], device=q.device))
            k = apply_rotary(k, torch.arange(start, start + k.shape[2], device=k.device))
        if cache is not None:
            k, v = cache.extend(layer, k, v)  # (B, h, T_cache + T_q, d_h)
        out, weights = attend(q, k, v, allowed, self.dropout if self.training else 0.0)
        b, _, t, _ = out.shape
        out = out.transpose(1, 2).reshape(b, t, -1)  # (B, h, T, d_h) -> (B, T, d)
        return self.out_proj(out), weights
