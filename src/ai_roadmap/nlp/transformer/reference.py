"""The hand-written attention checked against PyTorch and against its own definitions.

Each function builds fixed float64 inputs from a seed, measures one maximum absolute
error and returns a :class:`~ai_roadmap.checks.CheckRecord`; ``s4.transformer`` runs them
all at run time (``checks_failed`` is its target) and ``tests/reference`` asserts them.

- ``sdpa``            :func:`~.attention.attend` vs ``F.scaled_dot_product_attention``:
  output and ∂/∂q, ∂/∂k, ∂/∂v, with a causal ∧ padding mask and with ``is_causal``;
- ``mha``             :class:`~.attention.MultiHeadAttention` vs ``nn.MultiheadAttention``
  with copied weights: output, per-head weights, ∂/∂input and every parameter gradient;
- ``causal_future``   changing token j leaves the decoder's logits at positions < j unchanged;
- ``padding``         changing padded tokens leaves every real position unchanged;
- ``rope_relative``   ⟨R_m q, R_n k⟩ depends only on n − m; rotations keep norms;
- ``sinusoidal``      the table equals sin/cos of p / 10000^{2i/d}, computed one entry at a time;
- ``kv_cache``        logits with the cache equal full recomputation at every generated step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.nlp.transformer.attention import MultiHeadAttention, attend
from ai_roadmap.nlp.transformer.cache import KVCache
from ai_roadmap.nlp.transformer.decoder import DecoderConfig, DecoderLM
from ai_roadmap.nlp.transformer.masks import causal_mask, padding_mask
from ai_roadmap.nlp.transformer.positions import apply_rotary, sinusoidal_table

POSITIONS: tuple[Literal["rope", "sinusoidal"], ...] = ("rope", "sinusoidal")
TOL = 1e-10  # float64: agreement to rounding
F64 = torch.float64


def _max_diff(a: Tensor, b: Tensor) -> float:
    return float((a - b).detach().abs().max())


def _leaves(*shapes: tuple[int, ...], gen: torch.Generator) -> list[Tensor]:
    return [torch.randn(*s, dtype=F64, generator=gen).requires_grad_() for s in shapes]


def _grads(out: Tensor, inputs: list[Tensor], upstream: Tensor) -> list[Tensor]:
    return list(torch.autograd.grad(out, inputs, upstream))


def check_sdpa(seed: int = 0) -> CheckRecord:
    """attend vs torch's scaled_dot_product_attention, forward and gradients."""
    gen = torch.Generator().manual_seed(seed)
    b, h, t, d = 2, 3, 6, 4
    keep = torch.ones(b, t, dtype=torch.bool)
    keep[1, 4:] = False  # row 1 has two pad keys
    allowed = causal_mask(t) & padding_mask(keep)  # (B, 1, T, T)
    errors = []
    for mask, causal in ((allowed, False), (None, True)):
        q, k, v = _leaves((b, h, t, d), (b, h, t, d), (b, h, t, d), gen=gen)
        up = torch.randn(b, h, t, d, dtype=F64, generator=gen)
        ours, _ = attend(q, k, v, mask if mask is not None else causal_mask(t))
        theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal)
        errors.append(_max_diff(ours, theirs))
        for g1, g2 in zip(_grads(ours, [q, k, v], up), _grads(theirs, [q, k, v], up), strict=True):
            errors.append(_max_diff(g1, g2))
    return record("sdpa", max(errors), TOL, "output, dq, dk, dv; causal∧padding mask and is_causal")


def _copy_into_torch(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        theirs.in_proj_weight.copy_(
            torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
        )
        theirs.in_proj_bias.copy_(torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias]))
        theirs.out_proj.weight.copy_(ours.out_proj.weight)
        theirs.out_proj.bias.copy_(ours.out_proj.bias)


def check_mha(seed: int = 0) -> CheckRecord:
    """MultiHeadAttention vs nn.MultiheadAttention (copied weights): outputs and gradients."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    b, t, d, h = 2, 5, 8, 2
    ours = MultiHeadAttention(d, h).double()
    theirs = nn.MultiheadAttention(d, h, batch_first=True).double()
    _copy_into_torch(ours, theirs)
    x = torch.randn(b, t, d, dtype=F64, generator=gen, requires_grad=True)
    keep = torch.ones(b, t, dtype=torch.bool)
    keep[0, 3:] = False
    out1, w1 = ours(x, allowed=causal_mask(t) & padding_mask(keep))
    # torch's masks say where NOT to attend
    out2, w2 = theirs(
        x, x, x, key_padding_mask=~keep, attn_mask=~causal_mask(t), average_attn_weights=False
    )
    up = torch.randn(b, t, d, dtype=F64, generator=gen)
    g1 = torch.autograd.grad(out1, [x, *ours.parameters()], up)
    g2 = torch.autograd.grad(out2, [x, *theirs.parameters()], up)
    dx = _max_diff(g1[0], g2[0])
    # ours: Wq, bq, Wk, bk, Wv, bv, Wo, bo; torch: in_proj_weight, in_proj_bias, Wo, bo
    stacked_w = torch.cat([g1[1], g1[3], g1[5]])
    stacked_b = torch.cat([g1[2], g1[4], g1[6]])
    errors = [
        _max_diff(out1, out2),
        _max_diff(w1, w2),
        dx,
        _max_diff(stacked_w, g2[1]),
        _max_diff(stacked_b, g2[2]),
        _max_diff(g1[7], g2[3]),
        _max_diff(g1[8], g2[4]),
    ]
    return record("mha", max(errors), TOL, "output, per-head weights, d input, d every weight")


def tiny_decoder(positions: Literal["rope", "sinusoidal"] = "rope", seed: int = 0) -> DecoderLM:
    """A float64 decoder of 2 blocks, width 16, in eval mode, for the checks."""
    torch.manual_seed(seed)
    config = DecoderConfig(
        vocab_size=23, d_model=16, n_heads=2, n_layers=2, d_ff=32, max_len=32, positions=positions
    )
    return DecoderLM(config).double().eval()


def check_causal_future(seed: int = 0) -> CheckRecord:
    """Changing token j moves no logit before j (and does move logits from j on)."""
    errors, moved = [], []
    gen = torch.Generator().manual_seed(seed)
    for positions in POSITIONS:
        model = tiny_decoder(positions, seed)
        ids = torch.randint(1, 23, (2, 10), generator=gen)
        for j in (3, 7):
            changed = ids.clone()
            changed[:, j] = (ids[:, j] % 22) + 1  # another real token
            a, b = model(ids), model(changed)
            errors.append(_max_diff(a[:, :j], b[:, :j]))
            moved.append(_max_diff(a[:, j:], b[:, j:]))
    detail = f"logits before the change move ≤ {max(errors):.1e}; from it on {min(moved):.2g}"
    return record("causal_future", max(errors) if min(moved) > 1e-6 else math.inf, TOL, detail)


def check_padding(seed: int = 0) -> CheckRecord:
    """Changing padded tokens (masked) moves no real position; the mask is what holds it."""
    gen = torch.Generator().manual_seed(seed)
    errors, unmasked = [], []
    for positions in POSITIONS:
        model = tiny_decoder(positions, seed)
        ids = torch.randint(1, 23, (2, 8), generator=gen)
        keep = torch.ones(2, 8, dtype=torch.bool)
        keep[0, :3] = False  # row 0 is left-padded: its pads come before real tokens
        other = ids.clone()
        other[0, :3] = torch.randint(1, 23, (3,), generator=gen)
        a, b = model(ids, keep), model(other, keep)
        errors.append(_max_diff(a[keep], b[keep]))
        unmasked.append(_max_diff(model(ids)[0, 3:], model(other)[0, 3:]))
    detail = f"without the padding mask the same change moves logits by {min(unmasked):.2g}"
    return record("padding", max(errors) if min(unmasked) > 1e-6 else math.inf, TOL, detail)


def check_rope_relative(seed: int = 0) -> CheckRecord:
    """⟨R_m q, R_n k⟩ = ⟨R_0 q, R_{n−m} k⟩ for many (m, n); ‖R_p x‖ = ‖x‖."""
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 1, 1, 1, 8, dtype=F64, generator=gen)  # (1, 1, 1, d_h) each

    def score(m: int, n: int) -> Tensor:
        return (apply_rotary(q, torch.tensor([m])) * apply_rotary(k, torch.tensor([n]))).sum()

    errors = [
        float((score(m, m + off) - score(0, off)).abs())
        for off in (-5, 0, 1, 7, 30)
        for m in (3, 11, 100, 1000)
    ]
    positions = torch.arange(50)
    x = torch.randn(1, 1, 50, 8, dtype=F64, generator=gen)
    errors.append(_max_diff(apply_rotary(x, positions).norm(dim=-1), x.norm(dim=-1)))
    varies = float((score(0, 1) - score(0, 7)).abs())
    detail = f"score changes with the offset by {varies:.2g}"
    return record("rope_relative", max(errors) if varies > 1e-6 else math.inf, TOL, detail)


def check_sinusoidal(length: int = 64, dim: int = 16) -> CheckRecord:
    """The table against the formula, entry by entry (float32 table: tolerance 1e-6)."""
    table = sinusoidal_table(length, dim)
    error = 0.0
    for p in range(length):
        for i in range(dim // 2):
            angle = p / 10000 ** (2 * i / dim)
            sin_error = abs(float(table[p, 2 * i]) - math.sin(angle))
            cos_error = abs(float(table[p, 2 * i + 1]) - math.cos(angle))
            error = max(error, sin_error, cos_error)
    return record("sinusoidal", error, 1e-6, f"{length} positions × {dim} dims")


def check_kv_cache(seed: int = 0, steps: int = 12) -> CheckRecord:
    """Logits from the cache (one token per step) vs re-reading the whole sequence."""
    gen = torch.Generator().manual_seed(seed)
    errors = []
    for positions in POSITIONS:
        model = tiny_decoder(positions, seed)
        seq = torch.randint(1, 23, (3, 4), generator=gen)  # a prompt of 4 tokens
        cache = KVCache()
        with torch.no_grad():
            logits = model(seq, cache=cache)[:, -1]
            for _ in range(steps):
                errors.append(_max_diff(logits, model(seq)[:, -1]))
                token = torch.multinomial(logits.softmax(-1), 1, generator=gen)  # (B, 1)
                seq = torch.cat([seq, token], dim=1)
                logits = model(token, cache=cache)[:, -1]
            errors.append(_max_diff(logits, model(seq)[:, -1]))
    return record("kv_cache", max(errors), TOL, f"{steps + 1} steps, both position kinds")


CHECKS: dict[str, Callable[[], CheckRecord]] = {
    "sdpa": check_sdpa,
    "mha": check_mha,
    "causal_future": check_causal_future,
    "padding": check_padding,
    "rope_relative": check_rope_relative,
    "sinusoidal": check_sinusoidal,
    "kv_cache": check_kv_cache,
}


def run_checks() -> list[CheckRecord]:
    """Every check, each with its wall time."""
    import time
    from dataclasses import replace

    out = []
    for check in CHECKS.values():
        started = time.perf_counter()
        found = check()
        out.append(replace(found, seconds=time.perf_counter() - started))
    return out
