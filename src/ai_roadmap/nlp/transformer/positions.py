"""Where a token is: sinusoidal encodings added to the input, or rotary ones applied to Q, K.

Attention by itself is permutation-equivariant — shuffle the tokens and the outputs
shuffle with them — so order has to be injected.

**Sinusoidal** (Vaswani et al. 2017, §3.5). A fixed (T, d) table added to the embeddings::

    PE[p, 2i]   = sin(p / 10000^{2i/d})
    PE[p, 2i+1] = cos(p / 10000^{2i/d})

Each pair of dimensions is a clock turning at its own frequency ω_i = 10000^{−2i/d}, from
one turn per 2π tokens down to one per 10000·2π; PE[p + k] is a fixed rotation of PE[p],
which lets a linear map read relative offsets.

**Rotary, RoPE** (Su et al. 2021, "RoFormer"). Nothing is added; instead each query and
key vector is rotated in place, pair (2i, 2i+1) by the angle p·θ_i with θ_i = b^{−2i/d_h}::

    x'_{2i}   = x_{2i} cos pθ_i − x_{2i+1} sin pθ_i
    x'_{2i+1} = x_{2i} sin pθ_i + x_{2i+1} cos pθ_i        i.e. x' = R_p x

Rotations compose and are orthogonal, R_mᵀ R_n = R_{n−m}, so the score of a query at m
and a key at n is ⟨R_m q, R_n k⟩ = ⟨q, R_{n−m} k⟩: it depends on the positions only
through the offset n − m. Values are not rotated. With a KV cache the keys are stored
already rotated, and a new query is rotated by its absolute position.
"""

from __future__ import annotations

import torch
from torch import Tensor


def sinusoidal_table(length: int, dim: int, base: float = 10000.0) -> Tensor:
    """(length, dim) PE table of the formula above; ``dim`` must be even."""
    if dim % 2:
        raise ValueError(f"sinusoidal encodings need an even width, got {dim}")
    position = torch.arange(length, dtype=torch.float64)[:, None]  # (T, 1)
    omega = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (d/2,) = ω_i
    angle = position * omega  # (T, d/2)
    table = torch.empty(length, dim, dtype=torch.float64)
    table[:, 0::2] = angle.sin()
    table[:, 1::2] = angle.cos()
    return table.float()


def rotary_angles(positions: Tensor, head_dim: int, base: float = 10000.0) -> Tensor:
    """(..., head_dim/2) angles p·θ_i for integer ``positions`` (...)."""
    if head_dim % 2:
        raise ValueError(f"rotary encodings need an even head width, got {head_dim}")
    theta = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)  # (d_h/2,)
    return positions.to(torch.float64)[..., None] * theta.to(positions.device)


def apply_rotary(x: Tensor, positions: Tensor, base: float = 10000.0) -> Tensor:
    """R_p x for x (B, h, T, d_h) at ``positions`` (T,) — each pair (2i, 2i+1) rotated by pθ_i."""
    angle = rotary_angles(positions, x.shape[-1], base)  # (T, d_h/2)
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]  # (B, h, T, d_h/2) each
    out = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)  # (…, d_h/2, 2)
    return out.flatten(-2)  # (B, h, T, d_h), pairs interleaved back
