"""Recurrent layers from their equations: the Elman RNN, the LSTM and the GRU.

Notation for one layer and one direction: x_t ∈ R^I the input at step t, h_t ∈ R^H the
hidden state, σ the logistic function, ⊙ the elementwise product.

RNN (Elman 1990), φ = tanh or ReLU::

    h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)

LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000)::

    i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi)        input gate
    f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)        forget gate
    g_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg)     candidate cell
    o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)        output gate
    c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
    h_t = o_t ⊙ tanh(c_t)

GRU (Cho et al. 2014, in the form cuDNN and PyTorch compute)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)        reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)        update gate
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

Cho et al. wrote n_t = tanh(W_in x_t + W_hn (r_t ⊙ h_{t−1})), the reset applied *before*
the recurrent product; that is a different function (the reference tests show it
differs from ``torch.nn.GRU``). The form above lets W_hn h_{t−1} be computed together
with the other gates in one matrix product.

Gradient flow. Back-propagation through time gives, for a loss on the last step,
∂L/∂h_t = (∂h_{t+1}/∂h_t)ᵀ ∂L/∂h_{t+1}, a product of T − t Jacobians. For the RNN
∂h_{t+1}/∂h_t = diag(φ'(a_{t+1})) W_hh, so ‖∂L/∂h_t‖ ≤ (‖W_hh‖₂ max|φ'|)^{T−t} ‖∂L/∂h_T‖:
the gradient shrinks (or grows) geometrically with the distance (Bengio et al. 1994;
Pascanu et al. 2013). In the LSTM, ∂c_{t+1}/∂c_t = diag(f_{t+1}) plus the paths through
h_t: along the cell the gradient is scaled only by the forget gate — no weight matrix,
no squashing derivative — so with f ≈ 1 it crosses long spans (the "constant error
carousel").

Parameter layout follows ``torch.nn.RNN/LSTM/GRU`` so a ``state_dict`` copies across:
layer k holds ``weight_ih_l{k}`` (G·H, I_k), ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}``
and ``bias_hh_l{k}`` (G·H,), the G gate blocks stacked as (i, f, g, o) for the LSTM,
(r, z, n) for the GRU; the reverse direction of a bidirectional layer adds ``_reverse``.
I_0 is the input size, I_k = D·H above it (D = 2 directions when bidirectional). Every
weight starts as U(−1/√H, 1/√H), as in torch.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor, nn

# A recurrent state: (h,) for the RNN and GRU, (h, c) for the LSTM.
State = tuple[Tensor, ...]
PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # per layer and direction


# ---------------------------------------------------------------- one step of each cell
# Each step takes gx = W_ih x_t + b_ih already computed: a layer computes it for every t
# in one product before the loop, since it does not depend on the state.


def rnn_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor, relu: bool = False) -> State:
    """h_t = φ(gx + W_hh h_{t−1} + b_hh)."""
    (h,) = state
    a = gx + h @ w_hh.T + b_hh
    return (torch.relu(a) if relu else torch.tanh(a),)


def lstm_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
    """(h_t, c_t) from the four gates (i, f, g, o) stacked along the last axis."""
    h, c = state
    gates = gx + h @ w_hh.T + b_hh  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # (B, 4H) -> 4 × (B, H)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_step(gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
    """h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}, the reset gate scaling W_hn h_{t−1} + b_hn."""
    (h,) = state
    x_r, x_z, x_n = gx.chunk(3, dim=-1)  # (B, 3H) -> 3 × (B, H)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return ((1.0 - z) * n + z * h,)


# ---------------------------------------------------------------- cells (one time step)


def _uniform_(params: list[nn.Parameter], hidden_size: int) -> None:
    """torch's initialisation: every weight and bias ~ U(−1/√H, 1/√H)."""
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in params:
            p.uniform_(-bound, bound)


class _Cell(nn.Module):
    """One step, laid out like ``torch.nn.{RNN,LSTM,GRU}Cell`` (weight_ih, weight_hh, …)."""

    gates: ClassVar[int] = 1

    def __init__(self, input_size: int, hidden_size: int, dtype: torch.dtype | None = None):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        g = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size, dtype=dtype))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size, dtype=dtype))
        self.bias_ih = nn.Parameter(torch.empty(g, dtype=dtype))
        self.bias_hh = nn.Parameter(torch.empty(g, dtype=dtype))
        _uniform_(list(self.parameters()), hidden_size)

    def step(self, x: Tensor, state: State) -> State:
        gx = x @ self.weight_ih.T + self.bias_ih  # (B, I) -> (B, G·H)
        return self.step_fn(gx, state, self.weight_hh, self.bias_hh)

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        raise NotImplementedError

    def zeros(self, x: Tensor) -> Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size)


class RNNCell(_Cell):
    """h' = φ(W_ih x + b_ih + W_hh h + b_hh); ``forward(x, h) -> h'``."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        nonlinearity: str = "tanh",
        dtype: torch.dtype | None = None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
        super().__init__(input_size, hidden_size, dtype)
        self.nonlinearity = nonlinearity

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        return rnn_step(gx, state, w_hh, b_hh, relu=self.nonlinearity == "relu")

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        return self.step(x, (self.zeros(x) if h is None else h,))[0]


class GRUCell(_Cell):
    """The GRU step; ``forward(x, h) -> h'``."""

    gates = 3

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        return gru_step(gx, state, w_hh, b_hh)

    def forward(self, x: Tensor, h: Tensor | None = None) -> Tensor:
        return self.step(x, (self.zeros(x) if h is None else h,))[0]


class LSTMCell(_Cell):
    """The LSTM step; ``forward(x, (h, c)) -> (h', c')``."""

    gates = 4

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        return lstm_step(gx, state, w_hh, b_hh)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None) -> State:
        if state is None:
            state = (self.zeros(x), self.zeros(x))
        return self.step(x, state)


# ---------------------------------------------------------------- layers (whole sequences)


class _Recurrent(nn.Module):
    """Stacked, optionally bidirectional recurrent layers over a whole sequence.

    ``forward(x, state)`` takes x of shape (T, B, I), or (B, T, I) with ``batch_first``,
    and returns ``(output, h_n)`` — ``(output, (h_n, c_n))`` for the LSTM — exactly like
    torch: output (…, D·H) holds the last layer's states at every step (the two directions
    concatenated), h_n (L·D, B, H) the final state of every layer and direction, ordered
    layer 0 forward, layer 0 reverse, layer 1 forward, …
    """

    gates: ClassVar[int] = 1
    n_states: ClassVar[int] = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        bidirectional: bool = False,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        if num_layers < 1 or hidden_size < 1:
            raise ValueError("num_layers and hidden_size must be positive")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.batch_first, self.directions = batch_first, 2 if bidirectional else 1
        g = self.gates * hidden_size
        for k in range(num_layers):
            in_k = input_size if k == 0 else self.directions * hidden_size
            shapes = dict(zip(PARAMETERS, [(g, in_k), (g, hidden_size), (g,), (g,)], strict=True))
            for suffix in self._suffixes():
                for name, shape in shapes.items():
                    param = nn.Parameter(torch.empty(shape, dtype=dtype))
                    self.register_parameter(f"{name}_l{k}{suffix}", param)
        _uniform_(list(self.parameters()), hidden_size)

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse")[: self.directions]

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        raise NotImplementedError

    def _direction(
        self, x: Tensor, state: State, layer: int, suffix: str, valid: Tensor | None
    ) -> tuple[Tensor, State]:
        """Run one layer in one direction over x (T, B, I_k); outputs (T, B, H), final state.

        Where ``valid`` (T, B) is False (padding) the state is carried through unchanged
        and the output is zero, so the reverse direction starts at each sequence's end.
        """
        w_ih, w_hh, b_ih, b_hh = (getattr(self, f"{name}_l{layer}{suffix}") for name in PARAMETERS)
        # (T, B, I_k) -> (T, B, G·H), every step in one product; unbind rather than index
        # gx[t], whose backward would write a full-size zero tensor at every step
        gx = (x @ w_ih.T + b_ih).unbind(0)
        steps = range(len(gx) - 1, -1, -1) if suffix else range(len(gx))
        outputs: list[Tensor] = list(gx)  # placeholders, each overwritten below
        for t in steps:
            new = self.step_fn(gx[t], state, w_hh, b_hh)
            if valid is not None:
                keep = valid[t].unsqueeze(-1)  # (B,) -> (B, 1)
                new = tuple(torch.where(keep, n, old) for n, old in zip(new, state, strict=True))
                outputs[t] = new[0] * keep
            else:
                outputs[t] = new[0]
            state = new
        return torch.stack(outputs), state

    def _initial(self, state: Tensor | State | None, x: Tensor) -> State:
        """The initial state as a tuple of (L·D, B, H) tensors (zeros when not given)."""
        if state is None:
            shape = (self.num_layers * self.directions, x.shape[1], self.hidden_size)
            return tuple(x.new_zeros(shape) for _ in range(self.n_states))
        return (state,) if isinstance(state, Tensor) else tuple(state)

    def forward(
        self, x: Tensor, state: Tensor | State | None = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, Tensor | State]:
        """(output, final state) as in the class docstring.

        ``lengths`` (B,), optional: the true lengths of right-padded sequences; the result
        is then that of a ``torch.nn.utils.rnn.pack_padded_sequence`` input (zeros at the
        padding, final states at each sequence's end).
        """
        if x.dim() != 3:
            raise ValueError(f"expected a batched 3-D input, got shape {tuple(x.shape)}")
        if self.batch_first:
            x = x.transpose(0, 1)  # (B, T, I) -> (T, B, I)
        valid = None
        if lengths is not None:
            steps = torch.arange(x.shape[0], device=x.device)
            valid = steps[:, None] < lengths.to(x.device)[None, :]  # (T, B)
        initial = self._initial(state, x)
        finals: list[list[Tensor]] = [[] for _ in range(self.n_states)]
        for k in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes()):
                start = tuple(s[k * self.directions + d] for s in initial)
                out, final = self._direction(x, start, k, suffix, valid)
                outputs.append(out)
                for kept, f in zip(finals, final, strict=True):
                    kept.append(f)
            x = torch.cat(outputs, dim=-1)  # D × (T, B, H) -> (T, B, D·H)
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, B, D·H) -> (B, T, D·H)
        states = tuple(torch.stack(f) for f in finals)  # each (L·D, B, H)
        return x, (states[0] if self.n_states == 1 else states)


class RNN(_Recurrent):
    """Elman RNN layers, as ``torch.nn.RNN`` (``nonlinearity`` ``"tanh"`` or ``"relu"``)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        batch_first: bool = False,
        bidirectional: bool = False,
        dtype: torch.dtype | None = None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, batch_first, bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        return rnn_step(gx, state, w_hh, b_hh, relu=self.nonlinearity == "relu")


class LSTM(_Recurrent):
    """LSTM layers, as ``torch.nn.LSTM``; the state is the pair (h, c)."""

    gates, n_states = 4, 2

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        return lstm_step(gx, state, w_hh, b_hh)


class GRU(_Recurrent):
    """GRU layers, as ``torch.nn.GRU``."""

    gates = 3

    def step_fn(self, gx: Tensor, state: State, w_hh: Tensor, b_hh: Tensor) -> State:
        return gru_step(gx, state, w_hh, b_hh)
