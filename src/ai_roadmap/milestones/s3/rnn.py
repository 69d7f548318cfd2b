"""s3.rnn — recurrent layers checked against torch, gradient flow, seq2seq with attention.

Three parts, every random draw from ``seed``:

1. Checks (:class:`CheckRecord`, from :mod:`ai_roadmap.deep.rnn_checks`): our RNN (tanh
   and ReLU), LSTM and GRU layers and cells (:mod:`ai_roadmap.deep.rnn`) against
   ``torch.nn`` with the weights copied across, in float64 — multi-layer, batch-first or
   not, bidirectional, with and without an initial state. The error is the largest
   absolute gap over the outputs, the final states and the gradients of a random linear
   loss w.r.t. the input, the initial state and every parameter.
2. Gradient flow (:mod:`ai_roadmap.deep.gradient_flow`): ‖∂L/∂h_t‖ along a long random
   sequence for L = Σ h_T, at torch's initialisation, for the RNN, the LSTM (also with
   forget-gate bias +1, Jozefowicz et al. 2015) and the GRU; a log-scale plot against
   the distance T − t.
3. Seq2seq (:mod:`ai_roadmap.deep.seq2seq`, :mod:`ai_roadmap.deep.date_translation`):
   written dates → ISO dates, one model per attention type in ``train.attentions``;
   exact match on held-out dates never seen in training (any format); attention
   heat-maps for a few held-out inputs. The model named by ``train.primary`` is saved
   as a model folder with its vocabularies (:func:`~ai_roadmap.deep.seq2seq.save_seq2seq`).

``seq2seq_exact_match`` (the target, ≥ 0.99) is the held-out exact match of the model
named by ``train.primary``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.datasets.dates import FORMATS, DatePairs
from ai_roadmap.deep import seq2seq as s2s
from ai_roadmap.deep.date_translation import (
    DateData,
    DateTask,
    ModelSizes,
    Trained,
    Training,
    date_task,
    train_one,
)
from ai_roadmap.deep.gradient_flow import Flow, FlowSetup, flow_metrics, gradient_flow
from ai_roadmap.deep.rnn_checks import LAYERS, LayerCheck, check_cells, check_layer
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

if TYPE_CHECKING:
    from omegaconf import DictConfig

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class TrainConfig(Training):
    """The attention types trained, the one that is the target, and the schedule."""

    attentions: tuple[str, ...] = ("additive", "dot")
    primary: str = "additive"  # the model whose held-out exact match is seq2seq_exact_match

    def __post_init__(self) -> None:
        if self.primary not in self.attentions:
            raise ValueError("train.primary must be one of train.attentions")


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.rnn``."""

    seed: int = 0
    threads: int = 1  # torch threads; the matrices are small, extra threads only add syncs
    checks: LayerCheck = field(default_factory=LayerCheck)
    gradient_flow: FlowSetup = field(default_factory=FlowSetup)
    data: DateData = field(default_factory=DateData)
    model: ModelSizes = field(default_factory=ModelSizes)
    train: TrainConfig = field(default_factory=TrainConfig)
    heatmap_examples: int = 4  # held-out inputs shown in each attention heat-map


def run_checks(c: Config) -> list[CheckRecord]:
    """Every layer check, then the cells, with their wall times."""
    gen = torch.Generator().manual_seed(c.seed)
    jobs = [partial(check_layer, name, c.checks, gen) for name in LAYERS]
    records = []
    for job in [*jobs, partial(check_cells, c.checks, gen)]:
        started = time.perf_counter()
        records.append(replace(job(), seconds=time.perf_counter() - started))
    return records


# ---------------------------------------------------------------- plots


def plot_gradient_flow(flow: Flow, path: Path) -> Path:
    """‖∂L/∂h_t‖ (solid) and ‖∂L/∂c_t‖ (dashed) against the distance T − t, log scale."""
    with figure(path, figsize=(7, 4.5), dpi=100) as (_, ax):
        for name, norms in flow.h.items():
            distance = np.arange(len(norms))[::-1]  # t = 1…T -> T − t
            (line,) = ax.semilogy(distance, norms, label=f"{name}: ‖∂L/∂h_t‖")
            if name in flow.c:
                ax.semilogy(distance, flow.c[name], "--", color=line.get_color(),
                            label=f"{name}: ‖∂L/∂c_t‖")  # fmt: skip
        ax.set(xlabel="steps back from the loss, T − t", ylabel="gradient norm (batch)")
        ax.set_title("Gradient flow at initialisation, L = Σ h_T")
        ax.legend(fontsize=8)
    return path


def plot_losses(trained: list[Trained], path: Path) -> Path:
    with figure(path, figsize=(6, 4), dpi=100) as (_, ax):
        for t in trained:
            ax.semilogy(t.losses, label=f"{t.attention} (held-out exact match {t.exact_match:.4f})")
        ax.set(xlabel="step", ylabel="cross-entropy per character", title="seq2seq training")
        ax.legend()
    return path


def heatmap_examples(test: DatePairs, count: int) -> list[int]:
    """Held-out indices, one per format, Latin script only (the plot font has no CJK)."""
    seen, picks = set(), []
    for i, (text, fmt) in enumerate(zip(test.sources, test.formats, strict=True)):
        if fmt not in seen and text.isascii() and len(picks) < count:
            seen.add(fmt)
            picks.append(i)
    return picks


def plot_attention(trained: Trained, task: DateTask, picks: list[int], path: Path) -> Path:
    """α_tj for a few held-out inputs: rows the characters written, columns those read."""
    trained.model.eval()
    size = (7, 3.0 * len(picks))
    with figure(path, nrows=len(picks), figsize=size, dpi=100, squeeze=False) as (fig, axes):
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
    return path


# ---------------------------------------------------------------- the milestone


def describe(trained: Trained, test: DatePairs) -> str:
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


def model_card(trained: Trained) -> ModelCard:
    """The primary model's card: text in, ISO date out, its held-out figures."""
    return ModelCard(
        name="s3.rnn",
        task="translation",
        target="ISO date",
        input_schema={"text": {"type": "string"}},
        metrics={
            "seq2seq_exact_match": trained.exact_match,
            "worst_format_exact_match": min(trained.per_format.values()),
        },
    )


def run(cfg: DictConfig) -> Result:
    """Checks, gradient flow and seq2seq; ``seq2seq_exact_match`` is the target (≥ 0.99)."""
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    with torch_threads(c.threads):  # matrices this small only pay for thread syncs
        return _run(c, out)


def _run(c: Config, out: Path) -> Result:
    out.mkdir(parents=True, exist_ok=True)
    records = run_checks(c)
    metrics, notes = summarise(records)
    flow = gradient_flow(c.gradient_flow, c.seed)
    metrics.update(flow_metrics(flow))
    task = date_task(c.seed, c.data)
    trained = [train_one(task, c.model, a, c.train, c.seed) for a in c.train.attentions]
    picks = heatmap_examples(task.test, c.heatmap_examples)
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
    primary = next(t for t in trained if t.attention == c.train.primary)
    metrics["seq2seq_exact_match"] = primary.exact_match
    model_path = s2s.save_seq2seq(
        primary.model, task.src_vocab, task.tgt_vocab, out / "model", model_card(primary)
    )
    notes.append(
        "gradient flow (log10 ‖∂L/∂h_1‖/‖∂L/∂h_T‖, T = "
        f"{c.gradient_flow.seq_len}): "
        + ", ".join(f"{n} {metrics[f'grad_log10_ratio_{n}']:.1f}" for n in flow.h)
    )
    return Result(
        metrics,
        dataset=(
            f"synthetic dates {c.data.first_year}–{c.data.last_year} in {len(FORMATS)} "
            f"written formats (seeded): {c.data.n_train} training pairs, "
            f"{c.data.n_test} held-out dates"
        ),
        proxy=False,
        artifacts=artifacts,
        model_path=model_path,
        params={
            "seed": c.seed,
            "checks": len(records),
            "torch": torch.__version__,
            "src_vocab": len(task.src_vocab),
        },
        notes=notes,
    )
