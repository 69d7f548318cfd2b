"""The hand-written attention against PyTorch and the formulas, in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ai_roadmap.nlp.transformer import reference
from ai_roadmap.nlp.transformer.attention import MultiHeadAttention, attend
from ai_roadmap.nlp.transformer.masks import additive, causal_mask, padding_mask
from ai_roadmap.nlp.transformer.positions import apply_rotary, sinusoidal_table

pytestmark = [pytest.mark.reference, pytest.mark.usefixtures("one_torch_thread")]
F64 = torch.float64


@pytest.mark.parametrize("name", sorted(reference.CHECKS))
def test_every_run_time_check_passes(name: str) -> None:
    found = reference.CHECKS[name]()
    assert found.passed, found


def test_masks_are_the_explicit_matrices() -> None:
    expected = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    assert torch.equal(causal_mask(3), expected)
    # two cached keys before two new queries: query i sits at position i + 2
    assert torch.equal(causal_mask(2, 4), torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]).bool())
    keep = torch.tensor([[True, True, False]])
    assert padding_mask(keep).shape == (1, 1, 1, 3)
    assert torch.equal(additive(keep)[0], torch.tensor([0.0, 0.0, -math.inf]))


def test_cross_attention_equals_torch_with_a_key_padding_mask() -> None:
    torch.manual_seed(1)
    ours = MultiHeadAttention(12, 3).double()
    theirs = nn.MultiheadAttention(12, 3, batch_first=True).double()
    with torch.no_grad():
        w = theirs.in_proj_weight
        ours.q_proj.weight.copy_(w[:12])
        ours.k_proj.weight.copy_(w[12:24])
        ours.v_proj.weight.copy_(w[24:])
        ours.q_proj.bias.copy_(theirs.in_proj_bias[:12])
        ours.k_proj.bias.copy_(theirs.in_proj_bias[12:24])
        ours.v_proj.bias.copy_(theirs.in_proj_bias[24:])
        ours.out_proj.load_state_dict(theirs.out_proj.state_dict())
    query = torch.randn(2, 4, 12, dtype=F64, requires_grad=True)
    memory = torch.randn(2, 7, 12, dtype=F64, requires_grad=True)
    keep = torch.tensor([[True] * 7, [True] * 5 + [False] * 2])
    out, _ = ours(query, memory, memory, allowed=padding_mask(keep))
    expected, _ = theirs(query, memory, memory, key_padding_mask=~keep)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
    g1 = torch.autograd.grad(out.square().sum(), [query, memory])
    g2 = torch.autograd.grad(expected.square().sum(), [query, memory])
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_a_query_with_no_allowed_key_gets_zero_output_and_finite_gradients() -> None:
    q, k, v = (torch.randn(1, 3, 4, dtype=F64, requires_grad=True) for _ in range(3))
    allowed = torch.tensor([[False, False, False], [True, False, False], [True, True, True]])
    out, weights = attend(q, k, v, allowed)
    assert torch.equal(out[0, 0], torch.zeros(4, dtype=F64))
    assert torch.allclose(weights.sum(-1)[0], torch.tensor([0.0, 1.0, 1.0], dtype=F64))
    grads = torch.autograd.grad(out.sum(), [q, k, v])
    assert all(torch.isfinite(g).all() for g in grads)


def test_unscaled_scores_would_not_match_torch() -> None:
    """The √d_k matters: without it the comparison the checks rely on fails."""
    q, k, v = (torch.randn(2, 5, 16, dtype=F64) for _ in range(3))
    ours, _ = attend(q * 4.0, k, v)  # 4 = √16: the scale undone
    expected = F.scaled_dot_product_attention(q, k, v)
    assert (ours - expected).abs().max() > 1e-3


def test_rotary_is_multiplication_by_a_unit_complex_number() -> None:
    """RoPE pair (x_2i, x_2i+1) at position p is (x_2i + i·x_2i+1)·e^{i p θ_i}, θ_i = b^{−2i/d}."""
    x = torch.randn(1, 1, 6, 8, dtype=F64)
    positions = torch.tensor([0, 1, 2, 5, 40, 999])
    theta = 10000.0 ** (-np.arange(0, 8, 2) / 8)
    z = x[0, 0, :, 0::2].numpy() + 1j * x[0, 0, :, 1::2].numpy()  # (6, 4)
    rotated = z * np.exp(1j * positions.numpy()[:, None] * theta[None, :])
    ours = apply_rotary(x, positions)[0, 0].numpy()
    np.testing.assert_allclose(ours[:, 0::2], rotated.real, atol=1e-12)
    np.testing.assert_allclose(ours[:, 1::2], rotated.imag, atol=1e-12)


def test_sinusoidal_table_matches_numpy() -> None:
    p, i = np.meshgrid(np.arange(20), np.arange(0, 12, 2), indexing="ij")
    angle = p / np.power(10000.0, i / 12)
    table = sinusoidal_table(20, 12).numpy()
    np.testing.assert_allclose(table[:, 0::2], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(table[:, 1::2], np.cos(angle), atol=1e-6)


def test_the_checks_catch_a_decoder_without_its_causal_mask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ai_roadmap.nlp.transformer import decoder

    def see_everything(t_q: int, t_k: int | None = None, device: object = "cpu") -> torch.Tensor:
        return torch.ones(t_q, t_q if t_k is None else t_k, dtype=torch.bool)

    monkeypatch.setattr(decoder, "causal_mask", see_everything)
    assert not reference.check_causal_future().passed


def test_the_checks_catch_a_cache_that_forgets_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    from ai_roadmap.nlp.transformer import attention

    real = attention.apply_rotary
    monkeypatch.setattr(
        attention, "apply_rotary", lambda x, positions: real(x, positions - positions[0])
    )
    assert not reference.check_kv_cache().passed
