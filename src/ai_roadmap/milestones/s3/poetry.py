"""s3.poetry — a character-level LSTM that writes Tang poems, and an honest BLEU-3.

``run(cfg)``: clean and split the corpus (:mod:`ai_roadmap.nlp.poetry.corpus`), build the
vocabulary, train the LSTM language model with early stopping
(:mod:`ai_roadmap.nlp.poetry.train`), fit the Kneser–Ney baseline
(:mod:`ai_roadmap.nlp.poetry.ngram`), continue every held-out regulated poem from its
first line with both models and score them (:mod:`ai_roadmap.nlp.poetry.evaluate`),
sample poems for the record, and save the model folder the registry keeps
(:mod:`ai_roadmap.nlp.poetry.store`). The target's metric ``bleu3`` is protocol (a),
multi-reference corpus BLEU-3; ``bleu3_strict`` is protocol (b).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from omegaconf import DictConfig

from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.nlp.poetry import evaluate as ev
from ai_roadmap.nlp.poetry.corpus import (
    FORMS,
    Cleaning,
    Poem,
    Splits,
    form_counts,
    load_corpus,
    split_poems,
)
from ai_roadmap.nlp.poetry.generate import NeuralStepper, Sampling, Stepper, write_poem
from ai_roadmap.nlp.poetry.model import build
from ai_roadmap.nlp.poetry.ngram import KneserNeyLM, NGramStepper
from ai_roadmap.nlp.poetry.sections import DataSection, Split, VocabSection
from ai_roadmap.nlp.poetry.store import save
from ai_roadmap.nlp.poetry.train import TrainConfig, TrainReport, train_language_model
from ai_roadmap.nlp.poetry.vocab import Vocab
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads


@dataclass(frozen=True)
class Model:
    """The language model's kind and sizes; the vocabulary fixes its width."""

    kind: Literal["lstm"] = "lstm"
    embed_dim: int = 256
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2
    tie_weights: bool = True

    def sizes(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "kind"}


@dataclass(frozen=True)
class Train(TrainConfig):
    """The training loop's hyperparameters and the device it runs on."""

    device: Literal["auto", "cpu", "cuda"] = "auto"


@dataclass(frozen=True)
class Baseline:
    order: int = 3  # Kneser–Ney character n-gram order


@dataclass(frozen=True)
class Samples:
    """What ``samples.md`` shows."""

    per_form: int = 2
    heads: str = "春夏秋冬"  # 藏头诗: 4 heads → 五言绝句, 8 → 五言律诗
    continuations: int = 10
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9


@dataclass(frozen=True)
class Config:
    seed: int = 0
    threads: int = 0  # torch CPU threads (0: torch's default)
    corpus: Cleaning = field(default_factory=Cleaning)
    split: Split = field(default_factory=Split)
    vocab: VocabSection = field(default_factory=VocabSection)
    data: DataSection = field(default_factory=DataSection)
    model: Model = field(default_factory=Model)
    train: Train = field(default_factory=Train)
    baseline: Baseline = field(default_factory=Baseline)
    eval: ev.EvalConfig = field(default_factory=ev.EvalConfig)
    samples: Samples = field(default_factory=Samples)


@dataclass
class Data:
    splits: Splits
    train: list[Poem]  # the training poems actually used (a subset at small scales)
    val: list[Poem]  # the validation poems used for early stopping and perplexity
    vocab: Vocab
    source_poems: int
    dropped: dict[str, int]


def prepare(c: Config) -> Data:
    """Cleaned corpus → split → training subset → vocabulary."""
    corpus = load_corpus(c.corpus)
    splits = split_poems(corpus.poems, c.split.val_fraction, c.split.test_fraction, c.seed)
    train = splits.train
    if c.data.train_forms == "regulated":
        train = ev.regulated(train)
    if c.data.max_train_poems:
        train = train[: c.data.max_train_poems]
    val = splits.val[: c.data.max_val_poems or None]
    vocab = Vocab.from_poems(train, c.vocab.min_freq)
    return Data(splits, train, val, vocab, corpus.source_poems, corpus.dropped)


def device_of(wanted: str) -> str:
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def train_lstm(c: Config, data: Data, device: str) -> tuple[torch.nn.Module, TrainReport]:
    model = build(c.model.kind, len(data.vocab), **c.model.sizes())
    report = train_language_model(
        model,
        [data.vocab.encode(p) for p in data.train],
        [data.vocab.encode(p) for p in data.val],
        c.train,
        seed=c.seed,
        device=device,
    )
    return model, report


def score(
    stepper: Stepper, data: Data, config: ev.EvalConfig, seed: int
) -> tuple[dict[str, float], str, list[ev.Continuation]]:
    """Both BLEU protocols, distinct-2 and copying for one model's test continuations."""
    poems = ev.regulated(data.splits.test, config.max_poems)
    continuations = ev.continue_poems(stepper, data.vocab, poems, config, seed)
    pools = ev.reference_pools(data.splits.test)
    train_lines = {verse for poem in data.train for verse in poem.verses()}
    figures, precisions = ev.continuation_figures(continuations, pools, train_lines)
    return figures, precisions, continuations


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    with torch_threads(c.threads):  # 0: leave torch's default
        return _run(c, out)


def _run(c: Config, out: Path) -> Result:
    torch.manual_seed(c.seed)
    data = prepare(c)
    device = device_of(c.train.device)
    started = time.perf_counter()
    model, report = train_lstm(c, data, device)
    train_seconds = time.perf_counter() - started
    baseline = KneserNeyLM(c.baseline.order, len(data.vocab), data.vocab.bos)
    baseline.fit(data.vocab.encode(p) for p in data.train)
    stepper = NeuralStepper(model, device)
    lstm, lstm_precisions, continuations = score(stepper, data, c.eval, c.seed)
    ngram, ngram_precisions, _ = score(NGramStepper(baseline), data, c.eval, c.seed)
    baseline_nll = baseline.mean_nll(data.vocab.encode(p) for p in data.val)
    metrics = {
        **lstm,
        "val_perplexity": report.val_perplexity,
        "baseline_val_perplexity": float(torch.tensor(baseline_nll).exp()),
        **{f"baseline_{k}": v for k, v in ngram.items() if k != "generated_lines"},
        "form_correct_rate": ev.free_form_rate(stepper, data.vocab, FORMS["wujue"], c.eval, c.seed),
        "train_seconds": train_seconds,
        "train_steps": float(report.steps),
        "train_epochs": report.epochs,
        "parameters": float(sum(p.numel() for p in model.parameters())),
        "vocab_size": float(len(data.vocab)),
    }
    artifacts = {
        "samples.md": write_samples(out / "samples.md", stepper, data, continuations, c),
        "loss.png": plot_history(out / "loss.png", report),
    }
    return Result(
        metrics=metrics,
        dataset=_dataset_text(data),
        artifacts=artifacts,
        model_path=save(model, data.vocab, out / "model", metrics),
        params=_params(data, report, device),
        notes=_notes(metrics, report, lstm_precisions, ngram_precisions),
    )


def _dataset_text(data: Data) -> str:
    s = data.splits
    return (
        f"tang-poems (chinese-poetry 全唐诗, {data.source_poems} read, "
        f"{len(s.train) + len(s.val) + len(s.test)} kept after cleaning; split by poem "
        f"{len(s.train)}/{len(s.val)}/{len(s.test)}, {len(data.train)} used for training)"
    )


def _params(data: Data, report: TrainReport, device: str) -> dict[str, Any]:
    return {
        "device": device,
        "stopped": report.stopped,
        "dropped": data.dropped,
        "test_forms": form_counts(data.splits.test),
    }


def _notes(metrics: dict[str, float], report: TrainReport, lstm: str, ngram: str) -> list[str]:
    notes = [
        "bleu3 is protocol (a): corpus character BLEU-3 of lines 2…n, continued from each "
        "held-out poem's first line, against all held-out lines of the same length and "
        "position parity; bleu3_strict is protocol (b), against the poem's own lines",
        f"LSTM {lstm}",
        f"n-gram baseline: bleu3 {metrics['baseline_bleu3']:.3f}, strict "
        f"{metrics['baseline_bleu3_strict']:.3f}; {ngram}",
        "form_correct_rate: unconstrained 五言绝句 samples; `roadmap poem` decodes with "
        "the form enforced, so its poems always have the form",
        f"training stopped: {report.stopped} after {report.steps} steps "
        f"({report.epochs:.2f} epochs)",
    ]
    if metrics["bleu3"] <= metrics["baseline_bleu3"]:
        notes.append("the LSTM does not beat the n-gram baseline on bleu3 at this scale")
    return notes


def write_samples(
    path: Path, stepper: Stepper, data: Data, continuations: list[ev.Continuation], c: Config
) -> Path:
    """A few poems of each kind, as markdown."""
    s = c.samples
    sampling = Sampling(s.temperature, s.top_k, s.top_p)
    title = f"temperature {s.temperature}, top-k {s.top_k}, top-p {s.top_p}, seed {c.seed}"
    lines = [f"# s3.poetry samples ({title})", ""]
    for k, (name, form) in enumerate(FORMS.items()):
        lines.append(f"## {form.title} ({name})")
        for i in range(s.per_form):
            seed = 1000 * c.seed + 10 * k + i
            poem = write_poem(stepper, data.vocab, form, sampling=sampling, seed=seed)
            lines += ["", "  ".join(poem)]
        lines.append("")
    form = FORMS["wujue" if len(s.heads) == 4 else "wulv"]
    try:
        poem = write_poem(stepper, data.vocab, form, heads=s.heads, sampling=sampling)
        acrostic = "  ".join(poem)
    except RoadmapError as exc:  # a tiny vocabulary may lack a head character
        acrostic = f"(not written: {exc})"
    lines += [f"## 藏头诗 {s.heads} ({form.name})", "", acrostic, ""]
    lines += [f"## Held-out poems continued from their first line ({c.eval.decode})", ""]
    for cont in continuations[: s.continuations]:
        lines.append(f"- original: {''.join(cont.poem.lines)}")
        lines.append(f"  - model: {cont.poem.verses()[0]} / {' / '.join(cont.generated)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_history(path: Path, report: TrainReport) -> Path:
    """Training-batch and validation loss (nats per character) at each measurement."""
    steps = [row["step"] for row in report.history]
    with figure(path, figsize=(6, 4), dpi=100) as (_fig, ax):
        ax.plot(steps, [row["train_loss"] for row in report.history], "o-", label="train (batch)")
        ax.plot(steps, [row["val_loss"] for row in report.history], "o-", label="validation")
        ax.set_xlabel("step")
        ax.set_ylabel("nats per character")
        ax.set_title("s3.poetry LSTM language model")
        ax.legend()
    return path
