"""s3.rnn: our RNN, LSTM and GRU against torch.nn with copied weights (float64).

Outputs, final states and the gradients of a random linear loss w.r.t. the input, the
initial state and every parameter must agree within 1e-6; deliberately wrong variants
(Cho et al.'s original GRU, an LSTM with two gates swapped) must not.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor, nn

from ai_roadmap.deep import rnn, rnn_checks

F64 = torch.float64
ATOL = RTOL = 1e-6
OURS = {"rnn_tanh": rnn.RNN, "rnn_relu": rnn.RNN, "lstm": rnn.LSTM, "gru": rnn.GRU}
THEIRS = {"rnn_tanh": nn.RNN, "rnn_relu": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def make_pair(kind: str, ours_cls: type[nn.Module] | None = None, **kw) -> tuple:
    """(ours, torch's), ours loaded with torch's state_dict (strict)."""
    if kind.startswith("rnn"):
        kw["nonlinearity"] = kind.split("_")[1]
    torch.manual_seed(0)
    theirs = THEIRS[kind](dtype=F64, **kw)
    ours = (ours_cls or OURS[kind])(dtype=F64, **kw)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def flat(value) -> list[Tensor]:
    return [value] if isinstance(value, Tensor) else [t for v in value for t in flat(v)]


def forward_backward(model: nn.Module, x: Tensor, state: list[Tensor]) -> dict[str, Tensor]:
    """Outputs and gradients of L = Σ_k ⟨P_k, out_k⟩, keyed by what they are."""
    x = x.clone().requires_grad_(True)
    state = [s.clone().requires_grad_(True) for s in state]
    arg = None if not state else state[0] if len(state) == 1 else tuple(state)
    outs = flat(model(x, arg))
    gen = torch.Generator().manual_seed(7)
    loss = sum((torch.randn(o.shape, generator=gen, dtype=F64) * o).sum() for o in outs)
    names = sorted(n for n, _ in model.named_parameters())
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, [x, *state, *(params[n] for n in names)])
    result = {f"out{i}": o for i, o in enumerate(outs)}
    result.update({"d_x": grads[0]})
    result.update({f"d_state{i}": g for i, g in enumerate(grads[1 : 1 + len(state)])})
    result.update({f"d_{n}": g for n, g in zip(names, grads[1 + len(state) :], strict=True)})
    return result


def inputs(kind: str, layers: int, batch_first: bool, bidirectional: bool, with_state: bool):
    gen = torch.Generator().manual_seed(3)
    batch, steps, size, hidden = 4, 6, 5, 3
    x = torch.randn((batch, steps, size) if batch_first else (steps, batch, size), generator=gen,
                    dtype=F64)  # fmt: skip
    shape = (layers * (2 if bidirectional else 1), batch, hidden)
    n_states = (2 if kind == "lstm" else 1) if with_state else 0
    state = [torch.randn(shape, generator=gen, dtype=F64) for _ in range(n_states)]
    kw = dict(input_size=size, hidden_size=hidden, num_layers=layers, batch_first=batch_first,
              bidirectional=bidirectional)  # fmt: skip
    return x, state, kw


pytestmark = [
    pytest.mark.reference,
    pytest.mark.usefixtures("one_torch_thread"),
]  # tiny tensors: threads only sync


SETTINGS = list(itertools.product([1, 3], [True, False], [False, True], [True, False]))


@pytest.mark.parametrize("kind", list(OURS))
@pytest.mark.parametrize(("layers", "batch_first", "bidirectional", "with_state"), SETTINGS)
def test_layer_matches_torch(kind, layers, batch_first, bidirectional, with_state) -> None:
    x, state, kw = inputs(kind, layers, batch_first, bidirectional, with_state)
    ours, theirs = make_pair(kind, **kw)
    got, want = forward_backward(ours, x, state), forward_backward(theirs, x, state)
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], atol=ATOL, rtol=RTOL, msg=key)


class Padded(nn.Module):
    """A layer run on right-padded sequences of the given lengths: ours takes ``lengths``,
    torch's a packed sequence (padded back with zeros)."""

    def __init__(self, layer: nn.Module, lengths: Tensor) -> None:
        super().__init__()
        self.layer, self.lengths = layer, lengths

    def forward(self, x: Tensor, state):
        if not isinstance(self.layer, nn.RNNBase):
            return self.layer(x, state, lengths=self.lengths)
        bf = self.layer.batch_first
        packed = nn.utils.rnn.pack_padded_sequence(x, self.lengths, bf, enforce_sorted=False)
        out, final = self.layer(packed, state)
        total = x.shape[1] if bf else x.shape[0]
        return nn.utils.rnn.pad_packed_sequence(out, bf, total_length=total)[0], final


@pytest.mark.parametrize("kind", list(OURS))
@pytest.mark.parametrize(("batch_first", "with_state"), [(True, True), (False, False)])
def test_lengths_match_a_packed_sequence(kind: str, batch_first: bool, with_state: bool) -> None:
    x, state, kw = inputs(kind, 2, batch_first, True, with_state)
    lengths = torch.tensor([6, 2, 4, 1])  # T = 6, so the first sequence has no padding
    ours, theirs = make_pair(kind, **kw)
    got = forward_backward(Padded(ours, lengths), x, state)
    want = forward_backward(Padded(theirs, lengths), x, state)
    for key in want:
        torch.testing.assert_close(got[key], want[key], atol=ATOL, rtol=RTOL, msg=key)


def test_without_lengths_padding_changes_the_reverse_direction() -> None:
    """The reason for ``lengths``: read unmasked, the pads feed the reverse direction."""
    x, _, kw = inputs("gru", 1, True, True, False)
    ours, _ = make_pair("gru", **kw)
    lengths = torch.tensor([6, 2, 4, 1])
    masked, _ = ours(x, lengths=lengths)
    unmasked, _ = ours(x)
    hidden = kw["hidden_size"]
    assert (masked[1, :2, hidden:] - unmasked[1, :2, hidden:]).abs().max() > 1e-3
    torch.testing.assert_close(masked[1, :2, :hidden], unmasked[1, :2, :hidden])


@pytest.mark.parametrize("kind", list(OURS))
def test_parameter_names_and_shapes_match_torch(kind: str) -> None:
    _, _, kw = inputs(kind, 2, True, True, False)
    ours, theirs = make_pair(kind, **kw)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }


@pytest.mark.parametrize(
    ("ours_cls", "torch_cls", "kw"),
    [
        (rnn.RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}),
        (rnn.RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
        (rnn.LSTMCell, nn.LSTMCell, {}),
        (rnn.GRUCell, nn.GRUCell, {}),
    ],
)
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(ours_cls, torch_cls, kw, with_state: bool) -> None:
    torch.manual_seed(1)
    theirs = torch_cls(5, 3, dtype=F64, **kw)
    ours = ours_cls(5, 3, dtype=F64, **kw)
    ours.load_state_dict(theirs.state_dict())
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4, 5, generator=gen, dtype=F64)
    n_states = (2 if ours_cls is rnn.LSTMCell else 1) if with_state else 0
    state = [torch.randn(4, 3, generator=gen, dtype=F64) for _ in range(n_states)]
    got, want = forward_backward(ours, x, state), forward_backward(theirs, x, state)
    for key in want:
        torch.testing.assert_close(got[key], want[key], atol=ATOL, rtol=RTOL, msg=key)


# ---------------------------------------------------------------- wrong variants differ


def cho_gru_step(gx: Tensor, state: rnn.State, w_hh: Tensor, b_hh: Tensor) -> rnn.State:
    """Cho et al. (2014): n = tanh(W_in x + W_hn (r ⊙ h)) — reset applied before the matmul."""
    (h,) = state
    hidden = h.shape[-1]
    x_r, x_z, x_n = gx.chunk(3, dim=-1)
    h_r, h_z, _ = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + (r * h) @ w_hh[2 * hidden :].T + b_hh[2 * hidden :])
    return ((1.0 - z) * n + z * h,)


class ChoGRU(rnn.GRU):
    def step_fn(self, gx, state, w_hh, b_hh):
        return cho_gru_step(gx, state, w_hh, b_hh)


class SwappedGatesLSTM(rnn.LSTM):
    """Reads the gate blocks as (f, i, g, o): the input and forget gates exchanged."""

    def step_fn(self, gx, state, w_hh, b_hh):
        i, f, g, o = gx.chunk(4, dim=-1)
        wi, wf, wg, wo = w_hh.chunk(4, dim=0)
        bi, bf, bg, bo = b_hh.chunk(4)
        swap = torch.cat
        return rnn.lstm_step(
            swap([f, i, g, o], -1), state, swap([wf, wi, wg, wo]), swap([bf, bi, bg, bo])
        )


@pytest.mark.parametrize(("kind", "wrong"), [("gru", ChoGRU), ("lstm", SwappedGatesLSTM)])
def test_wrong_variant_differs_from_torch(kind: str, wrong: type[nn.Module]) -> None:
    x, state, kw = inputs(kind, 2, True, False, True)
    ours, theirs = make_pair(kind, ours_cls=wrong, **kw)
    got, want = forward_backward(ours, x, state), forward_backward(theirs, x, state)
    assert (got["out0"] - want["out0"]).abs().max() > 1e-3


def test_milestone_check_flags_the_cho_gru() -> None:
    c = rnn_checks.LayerCheck(
        batch=3, seq_len=5, input_size=4, hidden_size=3, num_layers=2, tolerance=1e-6
    )
    assert rnn_checks.check_layer("gru", c, torch.Generator().manual_seed(0)).passed
    wrong = rnn_checks.check_layer("gru", c, torch.Generator().manual_seed(0), make_ours=ChoGRU)
    assert not wrong.passed and wrong.error > 1e-3
