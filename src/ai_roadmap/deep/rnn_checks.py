"""Our recurrent layers against ``torch.nn`` with the weights copied across, in float64.

:func:`check_layer` compares our RNN (tanh and ReLU), LSTM or GRU layer
(:mod:`ai_roadmap.deep.rnn`) with torch's — multi-layer, batch-first or not,
bidirectional, with and without an initial state — and :func:`check_cells` the single
cells. The error is the largest absolute gap over the outputs, the final states and the
gradients of a random linear loss with respect to the input, the initial state and
every parameter. ``load_state_dict`` is strict, so the parameter layouts must agree too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.deep import rnn


@dataclass(frozen=True)
class LayerCheck:
    """Sizes of the comparisons and the largest gap allowed."""

    batch: int = 3
    seq_len: int = 7
    input_size: int = 5
    hidden_size: int = 4
    num_layers: int = 2
    tolerance: float = 1e-6  # max absolute gap, float64


F64 = torch.float64

# name -> (ours, torch's), both called with the same keyword arguments
LAYERS: dict[str, tuple[Callable[..., nn.Module], Callable[..., nn.Module]]] = {
    "rnn_tanh": (rnn.RNN, nn.RNN),
    "rnn_relu": (partial(rnn.RNN, nonlinearity="relu"), partial(nn.RNN, nonlinearity="relu")),
    "lstm": (rnn.LSTM, nn.LSTM),
    "gru": (rnn.GRU, nn.GRU),
}
CELLS: dict[str, tuple[Callable[..., nn.Module], Callable[..., nn.Module]]] = {
    "rnn_tanh": (rnn.RNNCell, nn.RNNCell),
    "rnn_relu": (
        partial(rnn.RNNCell, nonlinearity="relu"),
        partial(nn.RNNCell, nonlinearity="relu"),
    ),
    "lstm": (rnn.LSTMCell, nn.LSTMCell),
    "gru": (rnn.GRUCell, nn.GRUCell),
}


def _tensors(value: Any) -> list[Tensor]:
    """The tensors in a nested tuple such as (output, (h_n, c_n))."""
    if isinstance(value, Tensor):
        return [value]
    return [t for v in value for t in _tensors(v)]


def outputs_and_gradients(model: nn.Module, x: Tensor, state: tuple[Tensor, ...]) -> list[Tensor]:
    """Forward outputs, then ∂L/∂x, ∂L/∂state and ∂L/∂θ (parameters sorted by name).

    L = Σ_k ⟨P_k, out_k⟩ with fixed random probes P_k, so every output and final state
    feeds the gradient with its own weights.
    """
    x = x.detach().clone().requires_grad_(True)
    state = tuple(s.detach().clone().requires_grad_(True) for s in state)
    arg = None if not state else state[0] if len(state) == 1 else state
    outs = _tensors(model(x, arg))
    probes = torch.Generator().manual_seed(1234)
    loss = sum((torch.randn(o.shape, generator=probes, dtype=o.dtype) * o).sum() for o in outs)
    params = [p for _, p in sorted(model.named_parameters())]
    return [o.detach() for o in outs] + list(torch.autograd.grad(loss, [x, *state, *params]))


def copied(
    make_ours: Callable[..., nn.Module], make_torch: Callable[..., nn.Module], **kw: Any
) -> tuple[nn.Module, nn.Module]:
    """(ours, torch's) in float64, ours holding a copy of torch's weights."""
    theirs = make_torch(**kw, dtype=F64)
    ours = make_ours(**kw, dtype=F64)
    ours.load_state_dict(theirs.state_dict())  # strict: the parameter layouts must agree
    return ours, theirs


def largest_gap(ours: nn.Module, theirs: nn.Module, x: Tensor, state: tuple[Tensor, ...]) -> float:
    """max |ours − torch| over outputs, final states and all gradients."""
    a, b = outputs_and_gradients(ours, x, state), outputs_and_gradients(theirs, x, state)
    if [t.shape for t in a] != [t.shape for t in b]:
        return math.inf
    return max(float((u - v).abs().max()) for u, v in zip(a, b, strict=True))


def check_layer(
    name: str,
    c: LayerCheck,
    gen: torch.Generator,
    make_ours: Callable[..., nn.Module] | None = None,
) -> CheckRecord:
    """Layer ``name`` vs torch in three settings; the error is the worst of them.

    ``make_ours`` replaces our class (the tests hand it a deliberately wrong variant).
    """
    ours_cls, torch_cls = LAYERS[name]
    n_states = 2 if name == "lstm" else 1
    errors = []
    for batch_first, bidirectional, with_state in ((True, False, True), (False, True, True),
                                                   (True, True, False)):  # fmt: skip
        ours, theirs = copied(
            make_ours or ours_cls, torch_cls, input_size=c.input_size, hidden_size=c.hidden_size,
            num_layers=c.num_layers, batch_first=batch_first, bidirectional=bidirectional,
        )  # fmt: skip
        d = 2 if bidirectional else 1
        shape = (c.batch, c.seq_len) if batch_first else (c.seq_len, c.batch)
        x = torch.randn(*shape, c.input_size, generator=gen, dtype=F64)
        h_shape = (c.num_layers * d, c.batch, c.hidden_size)
        state = tuple(torch.randn(h_shape, generator=gen, dtype=F64) for _ in range(n_states))
        errors.append(largest_gap(ours, theirs, x, state if with_state else ()))
    detail = f"{c.num_layers} layers, T = {c.seq_len}, B = {c.batch}, float64"
    return record(f"{name}_vs_torch", max(errors), c.tolerance, detail)


def check_cells(c: LayerCheck, gen: torch.Generator) -> CheckRecord:
    """RNN (tanh, ReLU), LSTM and GRU cells vs ``torch.nn.*Cell``, with a given state."""
    errors = []
    for name, (ours_cls, torch_cls) in CELLS.items():
        ours, theirs = copied(ours_cls, torch_cls, input_size=c.input_size,
                              hidden_size=c.hidden_size)  # fmt: skip
        x = torch.randn(c.batch, c.input_size, generator=gen, dtype=F64)
        n_states = 2 if name == "lstm" else 1
        state = tuple(
            torch.randn(c.batch, c.hidden_size, generator=gen, dtype=F64) for _ in range(n_states)
        )
        errors.append(largest_gap(ours, theirs, x, state))
    return record("cells_vs_torch", max(errors), c.tolerance, "one step, float64")
