"""Gradient flow through time at initialisation: ‖∂L/∂h_t‖ along a long random sequence.

For L = Σ h_T, back-propagation through time gives ∂L/∂h_t as a product of T − t step
Jacobians (derived in :mod:`ai_roadmap.deep.rnn`). For the RNN that product shrinks
geometrically with the distance T − t; along the LSTM's cell it is scaled only by the
forget gates, so more of the gradient survives, and more still with a forget-gate bias
of +1 (Jozefowicz et al. 2015), which starts f ≈ σ(1) ≈ 0.73 instead of ½.
:func:`gradient_flow` measures it for the RNN, the LSTM (with and without that bias)
and the GRU on the same inputs, at torch's initialisation, in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ai_roadmap.deep import rnn

F64 = torch.float64


@dataclass(frozen=True)
class FlowSetup:
    """The sequence and the cells of the experiment."""

    seq_len: int = 100  # T
    batch: int = 32
    input_size: int = 16  # x_t ~ N(0, I)
    hidden_size: int = 64
    forget_bias: float = 1.0  # b_f of the second LSTM


def gradient_norms(
    cell: rnn.RNNCell | rnn.LSTMCell | rnn.GRUCell, x: Tensor
) -> tuple[np.ndarray, np.ndarray | None]:
    """(‖∂L/∂h_t‖, ‖∂L/∂c_t‖ or None) for t = 1…T, L = Σ h_T, x (T, B, I)."""
    zeros = x.new_zeros(x.shape[1], cell.hidden_size)
    state: rnn.State = (zeros, zeros.clone()) if isinstance(cell, rnn.LSTMCell) else (zeros,)
    kept = []
    for x_t in x.unbind(0):
        state = cell.step(x_t, state)
        for s in state:
            s.retain_grad()  # h_t (and c_t) are intermediate: ask autograd to keep ∂L/∂s_t
        kept.append(state)
    state[0].sum().backward()
    h = np.array([float(s[0].grad.norm()) for s in kept])
    c = np.array([float(s[1].grad.norm()) for s in kept]) if len(state) == 2 else None
    return h, c


@dataclass(frozen=True)
class Flow:
    """‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for LSTMs) per cell, t = 1…T."""

    h: dict[str, np.ndarray]
    c: dict[str, np.ndarray]


def gradient_flow(g: FlowSetup, seed: int) -> Flow:
    """The experiment at torch's initialisation, every cell seeing the same inputs."""
    x = torch.randn(g.seq_len, g.batch, g.input_size, dtype=F64,
                    generator=torch.Generator().manual_seed(seed))  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        cells = {
            "rnn": rnn.RNNCell(g.input_size, g.hidden_size, dtype=F64),
            "lstm": rnn.LSTMCell(g.input_size, g.hidden_size, dtype=F64),
            "lstm_forget_bias": rnn.LSTMCell(g.input_size, g.hidden_size, dtype=F64),
            "gru": rnn.GRUCell(g.input_size, g.hidden_size, dtype=F64),
        }
    with torch.no_grad():  # b_f = b_if + b_hf = forget_bias; gate order (i, f, g, o)
        forget = slice(g.hidden_size, 2 * g.hidden_size)
        cells["lstm_forget_bias"].bias_ih[forget] = g.forget_bias
        cells["lstm_forget_bias"].bias_hh[forget] = 0.0
    h, c = {}, {}
    for name, cell in cells.items():
        h[name], c_norms = gradient_norms(cell, x)
        if c_norms is not None:
            c[name] = c_norms
    return Flow(h, c)


def flow_metrics(flow: Flow) -> dict[str, float]:
    """log10 ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ per cell, its per-step factor, and LSTM over RNN at t = 1."""
    out = {}
    for name, norms in flow.h.items():
        ratio = math.log10(norms[0] / norms[-1])
        out[f"grad_log10_ratio_{name}"] = ratio
        out[f"grad_factor_per_step_{name}"] = 10 ** (ratio / (len(norms) - 1))
    out["grad_log10_lstm_over_rnn"] = math.log10(flow.h["lstm"][0] / flow.h["rnn"][0])
    return out
