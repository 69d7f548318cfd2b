"""Gradient flow through time: the norms against a hand-computed RNN Jacobian, and the
LSTM keeping more gradient than the RNN at initialisation."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.deep import gradient_flow as gf
from ai_roadmap.deep import rnn

F64 = torch.float64

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


def test_gradient_norms_match_the_hand_computed_rnn_jacobian() -> None:
    """∂L/∂h_T = 1 for L = Σ h_T, and ∂L/∂h_{T−1} = W_hhᵀ ((1 − h_T²) ⊙ 1) for tanh."""
    torch.manual_seed(0)
    cell = rnn.RNNCell(3, 5, dtype=F64)
    x = torch.randn(4, 2, 3, dtype=F64)
    h_norms, c_norms = gf.gradient_norms(cell, x)
    assert c_norms is None
    h = torch.zeros(2, 5, dtype=F64)
    states = []
    with torch.no_grad():
        for x_t in x:
            h = cell(x_t, h)
            states.append(h)
    last = states[-1]
    assert h_norms[-1] == pytest.approx(float(torch.ones_like(last).norm()), rel=1e-12)
    previous = (1.0 - last**2) @ cell.weight_hh.detach()  # row b: (W_hhᵀ (1 − h_T,b²))ᵀ
    assert h_norms[-2] == pytest.approx(float(previous.norm()), rel=1e-12)


def test_lstm_keeps_more_gradient_than_rnn_at_initialisation() -> None:
    setup = gf.FlowSetup(seq_len=40, batch=8, input_size=4, hidden_size=32, forget_bias=1.0)
    flow = gf.gradient_flow(setup, seed=0)
    m = gf.flow_metrics(flow)
    assert m["grad_log10_ratio_rnn"] < m["grad_log10_ratio_lstm"] < 0
    assert m["grad_log10_ratio_lstm"] < m["grad_log10_ratio_lstm_forget_bias"] < 0
    assert set(flow.c) == {"lstm", "lstm_forget_bias"}
