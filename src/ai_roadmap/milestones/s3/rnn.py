"""s3.rnn — recurrent layers checked against torch, gradient flow, seq2seq with attention.

Three parts, every random draw from ``cfg.seed``:

1. Checks (:class:`CheckRecord`): our RNN (tanh and ReLU), LSTM and GRU layers and cells
   (:mod:`ai_roadmap.deep.rnn`) against ``torch.nn`` with the weights copied across, in
   float64 — multi-layer, batch-first or not, bidirectional, with and without an initial
   state. The error is the largest absolute gap over the outputs, the final states and
   the gradients of a random linear loss w.r.t. the input, the initial state and every
   parameter.
2. Gradient flow: ‖∂L/∂h_t‖ along a long random sequence for L = Σ h_T, at torch's
   initialisation, for the RNN, the LSTM (also with forget-gate bias +1, Jozefowicz et
   al. 2015) and the GRU; a log-scale plot against the distance T − t.
3. Seq2seq (:mod:`ai_roadmap.deep.seq2seq`): written dates → ISO dates, one model per
   attention type in ``cfg.train.attentions``; exact match on held-out dates never seen
   in training (any format); attention heat-maps for a few held-out inputs.

``seq2seq_exact_match`` (the target, ≥ 0.99) is the held-out exact match of the model
named by ``cfg.train.primary``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.deep import rnn
from ai_roadmap.deep import seq2seq as s2s
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

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


# ---------------------------------------------------------------- 1. equal to torch


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
    name: str, c: Any, gen: torch.Generator, make_ours: Callable[..., nn.Module] | None = None
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


def check_cells(c: Any, gen: torch.Generator) -> CheckRecord:
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


def run_checks(cfg: Any) -> list[CheckRecord]:
    """Every layer check, then the cells, with their wall times."""
    gen = torch.Generator().manual_seed(int(cfg.seed))
    jobs = [partial(check_layer, name, cfg.checks, gen) for name in LAYERS]
    records = []
    for job in [*jobs, partial(check_cells, cfg.checks, gen)]:
        started = time.perf_counter()
        records.append(replace(job(), seconds=time.perf_counter() - started))
    return records


# ---------------------------------------------------------------- 2. gradient flow


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


def gradient_flow(cfg: Any) -> Flow:
    """The experiment at torch's initialisation, every cell seeing the same inputs."""
    g = cfg.gradient_flow
    x = torch.randn(g.seq_len, g.batch, g.input_size, dtype=F64,
                    generator=torch.Generator().manual_seed(int(cfg.seed)))  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(int(cfg.seed))
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


# ---------------------------------------------------------------- 3. seq2seq on dates


@dataclass(frozen=True)
class DateTask:
    """Training and held-out pairs, the two vocabularies and the encoded tensors."""

    train: s2s.DatePairs
    test: s2s.DatePairs
    src_vocab: s2s.Vocab
    tgt_vocab: s2s.Vocab
    train_data: s2s.Encoded
    test_data: s2s.Encoded


def date_task(cfg: Any) -> DateTask:
    d = cfg.data
    train, test = s2s.make_dates(int(cfg.seed), d.n_train, d.n_test, d.first_year, d.last_year)
    src, tgt = s2s.Vocab("".join(train.sources)), s2s.Vocab("0123456789-")
    return DateTask(
        train, test, src, tgt,
        s2s.encode_pairs(train.sources, train.targets, src, tgt),
        s2s.encode_pairs(test.sources, test.targets, src, tgt),
    )  # fmt: skip


@dataclass(frozen=True)
class Trained:
    """One trained model and its held-out figures."""

    attention: str
    model: s2s.Seq2Seq
    losses: list[float]
    predictions: list[str]
    exact_match: float
    per_format: dict[str, float]
    seconds: float


def train_one(cfg: Any, task: DateTask, attention: str) -> Trained:
    """Train one attention type from ``cfg.model``/``cfg.train``; score on held-out dates."""
    m, t = cfg.model, cfg.train
    config = s2s.Seq2SeqConfig(
        len(task.src_vocab), len(task.tgt_vocab), m.embed, m.enc_hidden, m.dec_hidden,
        m.attn_size, attention,
    )  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(int(cfg.seed))
        model = s2s.Seq2Seq(config)
    started = time.perf_counter()
    gen = torch.Generator().manual_seed(int(cfg.seed))
    losses = s2s.train(model, task.train_data, t.steps, t.batch_size, t.lr, t.clip, gen)
    seconds = time.perf_counter() - started
    preds = s2s.predict(model, task.test_data, task.tgt_vocab)
    hits: dict[str, list[bool]] = {}
    for p, y, f in zip(preds, task.test.targets, task.test.formats, strict=True):
        hits.setdefault(f, []).append(p == y)
    per_format = {f: float(np.mean(h)) for f, h in sorted(hits.items())}
    em = s2s.exact_match(preds, task.test.targets)
    return Trained(attention, model, losses, preds, em, per_format, seconds)


def save_model(trained: Trained, task: DateTask, path: Path) -> Path:
    """Weights, sizes and vocabularies: enough to rebuild the model with ``Seq2Seq``."""
    config = trained.model.cfg
    torch.save(
        {
            "config": config.__dict__,
            "state_dict": trained.model.state_dict(),
            "src_vocab": task.src_vocab.itos,
            "tgt_vocab": task.tgt_vocab.itos,
        },
        path,
    )
    return path


# ---------------------------------------------------------------- plots


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def plot_gradient_flow(flow: Flow, path: Path) -> Path:
    """‖∂L/∂h_t‖ (solid) and ‖∂L/∂c_t‖ (dashed) against the distance T − t, log scale."""
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    for name, norms in flow.h.items():
        distance = np.arange(len(norms))[::-1]  # t = 1…T -> T − t
        (line,) = ax.semilogy(distance, norms, label=f"{name}: ‖∂L/∂h_t‖")
        if name in flow.c:
            ax.semilogy(distance, flow.c[name], "--", color=line.get_color(),
                        label=f"{name}: ‖∂L/∂c_t‖")  # fmt: skip
    ax.set(xlabel="steps back from the loss, T − t", ylabel="gradient norm (batch)")
    ax.set_title("Gradient flow at initialisation, L = Σ h_T")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_losses(trained: list[Trained], path: Path) -> Path:
    fig, ax = _pyplot().subplots(figsize=(6, 4))
    for t in trained:
        ax.semilogy(t.losses, label=f"{t.attention} (held-out exact match {t.exact_match:.4f})")
    ax.set(xlabel="step", ylabel="cross-entropy per character", title="seq2seq training")
    ax.legend()
    return _save(fig, path)


def heatmap_examples(test: s2s.DatePairs, count: int) -> list[int]:
    """Held-out indices, one per format, Latin script only (the plot font has no CJK)."""
    seen, picks = set(), []
    for i, (text, fmt) in enumerate(zip(test.sources, test.formats, strict=True)):
        if fmt not in seen and text.isascii() and len(picks) < count:
            seen.add(fmt)
            picks.append(i)
    return picks


def plot_attention(trained: Trained, task: DateTask, picks: list[int], path: Path) -> Path:
    """α_tj for a few held-out inputs: rows the characters written, columns those read."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(picks), 1, figsize=(7, 3.0 * len(picks)), squeeze=False)
    trained.model.eval()
    for ax, i in zip(axes[:, 0], picks, strict=True):
        src, _, _ = task.test_data.batch(torch.tensor([i]))
        ids, weights = trained.model.greedy(src, task.test_data.tgt_out.shape[1])
        rows = [task.tgt_vocab.itos[k] for k in ids[0].tolist()]
        rows = rows[: rows.index("<eos>") + 1] if "<eos>" in rows else rows
        ax.imshow(weights[0, : len(rows)].numpy(), cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(src.shape[1]), list(task.test.sources[i]), fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        written = "".join(r for r in rows if r not in s2s.SPECIALS)
        ax.set_title(f"{task.test.sources[i]!r} → {written!r}", fontsize=9)
        ax.set(xlabel="read (input)", ylabel="written")
    fig.suptitle(f"{trained.attention} attention α_tj on held-out dates")
    return _save(fig, path)


# ---------------------------------------------------------------- the milestone


def describe(trained: Trained, test: s2s.DatePairs) -> str:
    """One note: held-out exact match, misses (a few shown), steps and training time."""
    misses = [
        f"{src!r} → {p!r} (want {y})"
        for src, p, y in zip(test.sources, trained.predictions, test.targets, strict=True)
        if p != y
    ]
    return (
        f"{trained.attention} attention: held-out exact match {trained.exact_match:.4f} "
        f"({len(misses)} misses of {len(test.sources)}) after {len(trained.losses)} steps "
        f"in {trained.seconds:.0f} s" + (f"; e.g. {'; '.join(misses[:3])}" if misses else "")
    )


def run(cfg: Any) -> Result:
    """Checks, gradient flow and seq2seq; ``seq2seq_exact_match`` is the target (≥ 0.99)."""
    if cfg.train.primary not in cfg.train.attentions:
        raise ValueError("train.primary must be one of train.attentions")
    with torch_threads(int(cfg.threads)):  # matrices this small only pay for thread syncs
        return _run(cfg, Path(cfg.output_dir))


def _run(cfg: Any, out: Path) -> Result:
    out.mkdir(parents=True, exist_ok=True)
    records = run_checks(cfg)
    metrics, notes = summarise(records)
    flow = gradient_flow(cfg)
    metrics.update(flow_metrics(flow))
    task = date_task(cfg)
    trained = [train_one(cfg, task, str(a)) for a in cfg.train.attentions]
    picks = heatmap_examples(task.test, int(cfg.heatmap_examples))
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "gradient_flow.png": plot_gradient_flow(flow, out / "gradient_flow.png"),
        "seq2seq_loss.png": plot_losses(trained, out / "seq2seq_loss.png"),
    }
    for t in trained:
        metrics[f"exact_match_{t.attention}"] = t.exact_match
        metrics[f"worst_format_exact_match_{t.attention}"] = min(t.per_format.values())
        metrics[f"train_seconds_{t.attention}"] = t.seconds
        name = f"attention_{t.attention}.png"
        artifacts[name] = plot_attention(t, task, picks, out / name)
        notes.append(describe(t, task.test))
    primary = next(t for t in trained if t.attention == cfg.train.primary)
    metrics["seq2seq_exact_match"] = primary.exact_match
    model_path = save_model(primary, task, out / f"seq2seq_{primary.attention}.pt")
    notes.append(
        "gradient flow (log10 ‖∂L/∂h_1‖/‖∂L/∂h_T‖, T = "
        f"{cfg.gradient_flow.seq_len}): "
        + ", ".join(f"{n} {metrics[f'grad_log10_ratio_{n}']:.1f}" for n in flow.h)
    )
    return Result(
        metrics,
        dataset=(
            f"synthetic dates {cfg.data.first_year}–{cfg.data.last_year} in {len(s2s.FORMATS)} "
            f"written formats (seeded): {cfg.data.n_train} training pairs, "
            f"{cfg.data.n_test} held-out dates"
        ),
        proxy=False,
        artifacts=artifacts,
        model_path=model_path,
        params={
            "seed": int(cfg.seed),
            "checks": len(records),
            "torch": torch.__version__,
            "src_vocab": len(task.src_vocab),
        },
        notes=notes,
    )
