"""s4.transformer — attention by hand, checked, then a decoder beside the s3.poetry LSTM.

``run(cfg)``:

1. **Checks** (``checks_failed`` is the target, ≤ 0): the hand-written attention, masks,
   positions and KV cache against PyTorch and their own definitions, in float64
   (:mod:`ai_roadmap.nlp.transformer.reference`): ``sdpa``, ``mha``, ``causal_future``,
   ``padding``, ``rope_relative``, ``sinusoidal``, ``kv_cache``.
2. **The decoder** (:class:`~ai_roadmap.nlp.transformer.decoder.DecoderLM`, pre-LN, RoPE)
   trained on the Tang poems with the *same* cleaning, split, vocabulary, training loop and
   evaluation as s3.poetry (:mod:`ai_roadmap.nlp.poetry`): every held-out regulated poem
   continued from its first line, BLEU-3 under protocols (a) multi-reference and
   (b) strict, distinct-2, copied lines, free-sampling form accuracy.
3. **The LSTM beside it**, scored in this run on the same test poems: the registry's
   s3.poetry champion when its run used the same corpus cleaning, split fractions and
   seed (so none of these test poems was in its training set), else an LSTM trained here
   with the s3.poetry recipe at this scale (model and optimiser), on the same training
   poems, with the same wall-clock budget as the decoder (``lstm.source``: auto | registry
   | train). Figures are prefixed ``transformer_`` and ``lstm_``.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from omegaconf import DictConfig
from torch import nn

from ai_roadmap.checks import summarise, write_table
from ai_roadmap.config import compose, typed
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.nlp.poetry import evaluate as ev
from ai_roadmap.nlp.poetry.corpus import FORMS, Cleaning, Poem, Splits, load_corpus, split_poems
from ai_roadmap.nlp.poetry.generate import NeuralStepper, Sampling, Stepper, write_poem
from ai_roadmap.nlp.poetry.model import build
from ai_roadmap.nlp.poetry.sections import DataSection, Split, VocabSection
from ai_roadmap.nlp.poetry.store import MILESTONE as LSTM_ITEM
from ai_roadmap.nlp.poetry.store import TRANSFORMER_MILESTONE, load, save
from ai_roadmap.nlp.poetry.train import TrainConfig, TrainReport, make_batches, mean_nll
from ai_roadmap.nlp.poetry.train import train_language_model as train_lm
from ai_roadmap.nlp.poetry.vocab import Vocab
from ai_roadmap.nlp.transformer.decoder import DecoderConfig, DecoderLM
from ai_roadmap.nlp.transformer.reference import run_checks
from ai_roadmap.nlp.transformer.stepper import DecoderStepper
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

# the s3.poetry config keys that fix which poems are held out
SPLIT_KEYS = (
    "seed",
    "split.val_fraction",
    "split.test_fraction",
    *(f"corpus.{f.name}" for f in dataclasses.fields(Cleaning)),
)


@dataclass(frozen=True)
class Model:
    """Decoder sizes (:class:`DecoderConfig` without the vocabulary)."""

    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 3
    d_ff: int = 512
    max_len: int = 256
    dropout: float = 0.1
    positions: Literal["rope", "sinusoidal"] = "rope"


@dataclass(frozen=True)
class Train(TrainConfig):
    device: Literal["auto", "cpu", "cuda"] = "auto"


@dataclass(frozen=True)
class LSTMSide:
    """Where the LSTM comes from: auto (registry if it fits, else train) | registry | train."""

    source: Literal["auto", "registry", "train"] = "auto"
    overrides: list[str] = field(default_factory=list)  # s3.poetry overrides for a new one


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
    lstm: LSTMSide = field(default_factory=LSTMSide)
    eval: ev.EvalConfig = field(default_factory=ev.EvalConfig)


@dataclass
class Data:
    splits: Splits
    train: list[Poem]
    val: list[Poem]
    vocab: Vocab


@dataclass
class Side:
    """One model of the comparison and where it came from."""

    model: nn.Module
    vocab: Vocab
    origin: str
    train_seconds: float
    report: TrainReport | None = None


# ── data and training, as s3.poetry does them ────────────────────────────────────────


def prepare(c: Config) -> Data:
    """Cleaned corpus → split → training subset → vocabulary (s3.poetry's ``prepare``)."""
    splits = split_poems(
        load_corpus(c.corpus).poems, c.split.val_fraction, c.split.test_fraction, c.seed
    )
    train = ev.regulated(splits.train) if c.data.train_forms == "regulated" else splits.train
    train = train[: c.data.max_train_poems or None]
    val = splits.val[: c.data.max_val_poems or None]
    return Data(splits, train, val, Vocab.from_poems(train, c.vocab.min_freq))


def train_model(model: nn.Module, data: Data, config: TrainConfig, seed: int, device: str) -> Side:
    torch.manual_seed(seed)
    started = time.perf_counter()
    report = train_lm(
        model,
        [data.vocab.encode(p) for p in data.train],
        [data.vocab.encode(p) for p in data.val],
        config,
        seed=seed,
        device=device,
    )
    return Side(model, data.vocab, "", time.perf_counter() - started, report)


def train_config(section: Any) -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in dict(section).items() if k in names})


def train_decoder(c: Config, data: Data, device: str) -> Side:
    sizes = dataclasses.asdict(c.model)
    model = DecoderLM(DecoderConfig(vocab_size=len(data.vocab), pad_id=data.vocab.pad, **sizes))
    side = train_model(model, data, train_config(dataclasses.asdict(c.train)), c.seed, device)
    side.origin = (
        f"decoder trained in this run ({c.model.n_layers} pre-LN blocks, {c.model.positions})"
    )
    return side


# ── the LSTM ──────────────────────────────────────────────────────────────────────────


def lstm_from_registry(c: Config, device: str) -> Side | str:
    """The s3.poetry champion if its run held out the same poems, else why not (one line)."""
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import CHAMPION, client

    settings = get_settings()
    mlflow_client, _ = client(settings)
    try:
        version = mlflow_client.get_model_version_by_alias(LSTM_ITEM, CHAMPION)
    except Exception:  # MLflow raises its own exception for a missing alias
        return f"the registry has no {LSTM_ITEM} model"
    params = mlflow_client.get_run(version.run_id).data.params
    ours = _flat_split_params(c)
    differs = [k for k in SPLIT_KEYS if str(params.get(k)) != ours[k]]
    if differs:
        return f"{LSTM_ITEM} v{version.version} used another corpus or split ({', '.join(differs)})"
    with tempfile.TemporaryDirectory(prefix="lstm-") as tmp:
        local = mlflow_client.download_artifacts(version.run_id, "model", tmp)
        model, vocab, card = load(Path(local), device)
    seconds = float(card.metrics.get("train_seconds", math.nan))
    scale = version.tags.get("roadmap.scale", "?")
    return Side(model, vocab, f"registry model {LSTM_ITEM} v{version.version} ({scale})", seconds)


def _flat_split_params(c: Config) -> dict[str, str]:
    """Our values of :data:`SPLIT_KEYS` as the runner logs them (str of each value)."""
    out = {"seed": str(c.seed)}
    out |= {f"split.{k}": str(v) for k, v in dataclasses.asdict(c.split).items()}
    out |= {f"corpus.{k}": str(v) for k, v in dataclasses.asdict(c.corpus).items()}
    return out


def train_lstm(c: Config, scale: str, data: Data, device: str) -> Side:
    """An LSTM with the s3.poetry recipe at ``scale`` (its model and train sections)."""
    recipe = compose(LSTM_ITEM, scale, list(c.lstm.overrides))
    sizes = {k: v for k, v in dict(recipe.model).items() if k != "kind"}
    model = build(str(recipe.model.kind), len(data.vocab), **sizes)
    side = train_model(model, data, train_config(recipe.train), c.seed, device)
    side.origin = (
        f"LSTM trained in this run ({LSTM_ITEM} recipe at {scale}, overrides {c.lstm.overrides})"
    )
    return side


def get_lstm(c: Config, scale: str, data: Data, device: str) -> Side:
    """The LSTM of the comparison, by ``lstm.source``."""
    if c.lstm.source == "train":
        return train_lstm(c, scale, data, device)
    found = lstm_from_registry(c, device)
    if isinstance(found, Side):
        return found
    if c.lstm.source == "registry":
        raise RoadmapError(f"lstm.source=registry: {found}; use lstm.source=auto or train")
    side = train_lstm(c, scale, data, device)
    side.origin += f", because {found}"
    return side


# ── scoring ───────────────────────────────────────────────────────────────────────────


def stepper_of(side: Side, device: str) -> Stepper:
    model = side.model
    return (
        DecoderStepper(model, device)
        if isinstance(model, DecoderLM)
        else NeuralStepper(model, device)
    )


def perplexity(side: Side, poems: list[Poem], batch_size: int, device: str) -> float:
    """exp(mean −log p) per token of ``poems`` under the side's own vocabulary."""
    batches = make_batches([side.vocab.encode(p) for p in poems], batch_size)
    return math.exp(min(mean_nll(side.model, batches, torch.device(device)), 50.0))


def score_side(side: Side, data: Data, c: Config, device: str) -> tuple[dict[str, float], str]:
    """The s3.poetry figures of one model on this run's test poems."""
    stepper = stepper_of(side, device)
    poems = ev.regulated(data.splits.test, c.eval.max_poems)
    continuations = ev.continue_poems(stepper, side.vocab, poems, c.eval, c.seed)
    train_lines = {verse for poem in data.train for verse in poem.verses()}
    figures, precisions = ev.continuation_figures(
        continuations, ev.reference_pools(data.splits.test), train_lines
    )
    figures |= {
        "val_perplexity": perplexity(side, data.val, c.eval.batch_size, device),
        "test_perplexity": perplexity(side, data.splits.test, c.eval.batch_size, device),
        "form_correct_rate": ev.free_form_rate(stepper, side.vocab, FORMS["wujue"], c.eval, c.seed),
        "parameters": float(sum(p.numel() for p in side.model.parameters())),
        "train_seconds": side.train_seconds,
    }
    if side.report is not None:
        figures |= {"train_steps": float(side.report.steps), "train_epochs": side.report.epochs}
    return figures, precisions


# ── run ───────────────────────────────────────────────────────────────────────────────


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    if c.model.max_len < c.corpus.max_chars + 3:  # <bos> <form> … <eos>
        raise UsageError(
            f"model.max_len {c.model.max_len} is shorter than the longest poem "
            f"(corpus.max_chars {c.corpus.max_chars} + 3 tokens); raise model.max_len"
        )
    with torch_threads(c.threads):
        return _run(c, str(cfg.get("scale", "smoke")), Path(cfg.output_dir))


def _run(c: Config, scale: str, out: Path) -> Result:
    checks = run_checks()
    metrics, check_notes = summarise(checks)
    data = prepare(c)
    device = (
        c.train.device
        if c.train.device != "auto"
        else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    decoder = train_decoder(c, data, device)
    lstm = get_lstm(c, scale, data, device)
    ours, ours_precisions = score_side(decoder, data, c, device)
    theirs, theirs_precisions = score_side(lstm, data, c, device)
    metrics |= {f"transformer_{k}": v for k, v in ours.items()}
    metrics |= {f"lstm_{k}": v for k, v in theirs.items() if k != "generated_lines"}
    metrics["vocab_size"] = float(len(data.vocab))
    artifacts = {
        "checks.csv": write_table(checks, out / "checks.csv"),
        "samples.md": write_samples(
            out / "samples.md", {"Transformer": decoder, "LSTM": lstm}, c.seed
        ),
        "loss.png": plot_history(out / "loss.png", {"Transformer": decoder, "LSTM": lstm}),
    }
    notes = [
        *check_notes,
        f"transformer: {decoder.origin}; {ours_precisions}",
        f"lstm: {lstm.origin}; {theirs_precisions}",
        *comparison_notes(metrics, lstm.vocab == data.vocab, device),
    ]
    return Result(
        metrics=metrics,
        dataset=_dataset_text(data),
        artifacts=artifacts,
        model_path=save(
            decoder.model, data.vocab, out / "model", metrics, name=TRANSFORMER_MILESTONE
        ),
        params={"device": device, "lstm_origin": lstm.origin},
        notes=notes,
    )


FIGURES = (
    ("val_perplexity", "validation perplexity (per token)", "{:.2f}"),
    ("test_perplexity", "test perplexity (per token)", "{:.2f}"),
    ("bleu3", "BLEU-3 (a) multi-reference", "{:.3f}"),
    ("bleu3_strict", "BLEU-3 (b) strict", "{:.3f}"),
    ("form_correct_rate", "form accuracy (free 五言绝句 samples)", "{:.3f}"),
    ("copied_line_fraction", "copied lines", "{:.3f}"),
    ("distinct_2", "distinct-2", "{:.3f}"),
    ("parameters", "parameters", "{:,.0f}"),
    ("train_seconds", "training seconds", "{:.0f}"),
)


def comparison_notes(m: dict[str, float], same_vocab: bool, device: str) -> list[str]:
    """The side-by-side table as one note per figure, and how to read it."""
    rows = [
        f"{label}: transformer {fmt.format(m['transformer_' + k])} · "
        f"lstm {fmt.format(m['lstm_' + k])}"
        for k, label, fmt in FIGURES
    ]
    return [
        *rows,
        "both models continue the same held-out poems with the same decoder "
        f"(s3.poetry's evaluation; {int(m['transformer_generated_lines'])} generated lines "
        "each); copied lines are counted against the training poems of this run; "
        f"training time measured on {device}",
        "perplexities share one vocabulary"
        if same_vocab
        else "the LSTM has its own vocabulary, so its perplexity counts <unk> differently",
    ]


def _dataset_text(data: Data) -> str:
    s = data.splits
    return (
        f"tang-poems (chinese-poetry 全唐诗, cleaned as s3.poetry; split by poem "
        f"{len(s.train)}/{len(s.val)}/{len(s.test)}, {len(data.train)} used for training)"
    )


def write_samples(path: Path, sides: dict[str, Side], seed: int) -> Path:
    """One poem per form and an acrostic from each model (temperature 0.8, top-p 0.9)."""
    sampling = Sampling(0.8, 0, 0.9)
    lines = [f"# s4.transformer samples (temperature 0.8, top-p 0.9, seed {seed})", ""]
    for name, side in sides.items():
        lines += [f"## {name}", ""]
        stepper = stepper_of(side, "cpu" if not next(side.model.parameters()).is_cuda else "cuda")
        for form in FORMS.values():
            poem = write_poem(stepper, side.vocab, form, sampling=sampling, seed=seed)
            lines.append(f"- {form.title}: {''.join(poem)}")
        try:
            poem = write_poem(
                stepper, side.vocab, FORMS["wujue"], heads="春夏秋冬", sampling=sampling, seed=seed
            )
            lines.append(f"- 藏头诗 春夏秋冬: {''.join(poem)}")
        except RoadmapError as exc:  # a tiny vocabulary may lack a head character
            lines.append(f"- 藏头诗 春夏秋冬: (not written: {exc})")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def plot_history(path: Path, sides: dict[str, Side]) -> Path:
    """Validation loss (nats per token) against training step, for the models trained here."""
    with figure(path, figsize=(6, 4), dpi=100) as (_fig, ax):
        for name, side in sides.items():
            if side.report is not None and side.report.history:
                rows = side.report.history
                ax.plot([r["step"] for r in rows], [r["val_loss"] for r in rows], "o-", label=name)
        ax.set_xlabel("step")
        ax.set_ylabel("validation nats per token")
        ax.set_title("s4.transformer: decoder and LSTM")
        ax.legend()
    return path
