"""s3.poetry — a character-level LSTM that writes Tang poems, and an honest BLEU-3.

``run(cfg)``: clean and split the corpus (:mod:`.corpus`), build the vocabulary, train the
LSTM language model with early stopping (:mod:`.train`), fit the Kneser–Ney baseline
(:mod:`.ngram`), continue every held-out regulated poem from its first line with both
models and score them (:mod:`.evaluate`), sample poems for the record, and save the model
folder the registry keeps (:mod:`.store`). The target's metric ``bleu3`` is protocol (a),
multi-reference corpus BLEU-3; ``bleu3_strict`` is protocol (b).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

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
from ai_roadmap.nlp.poetry.store import save
from ai_roadmap.nlp.poetry.train import TrainConfig, TrainReport, train_language_model
from ai_roadmap.nlp.poetry.vocab import Vocab
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads


def _dataclass_from(cls: type, section: Any) -> Any:
    """Build a config dataclass from a Hydra section, ignoring keys it does not have."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in dict(section).items() if k in names})


@dataclass
class Data:
    splits: Splits
    train: list[Poem]  # the training poems actually used (a subset at small scales)
    vocab: Vocab
    source_poems: int
    dropped: dict[str, int]


def prepare(cfg: Any) -> Data:
    """Cleaned corpus → split → training subset → vocabulary."""
    corpus = load_corpus(_dataclass_from(Cleaning, cfg.corpus))
    splits = split_poems(
        corpus.poems, cfg.split.val_fraction, cfg.split.test_fraction, int(cfg.seed)
    )
    train = splits.train
    if cfg.data.train_forms == "regulated":
        train = ev.regulated(train)
    if cfg.data.max_train_poems:
        train = train[: int(cfg.data.max_train_poems)]
    vocab = Vocab.from_poems(train, int(cfg.vocab.min_freq))
    return Data(splits, train, vocab, corpus.source_poems, corpus.dropped)


def device_of(cfg: Any) -> str:
    wanted = str(cfg.train.get("device", "auto"))
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def train_lstm(cfg: Any, data: Data, device: str) -> tuple[torch.nn.Module, TrainReport]:
    sizes = {k: v for k, v in dict(cfg.model).items() if k != "kind"}
    model = build(str(cfg.model.kind), len(data.vocab), **sizes)
    val = data.splits.val[: int(cfg.data.max_val_poems) or None]
    report = train_language_model(
        model,
        [data.vocab.encode(p) for p in data.train],
        [data.vocab.encode(p) for p in val],
        _dataclass_from(TrainConfig, cfg.train),
        seed=int(cfg.seed),
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


def run(cfg: Any) -> Result:
    with torch_threads(int(cfg.get("threads", 0))):  # 0: leave torch's default
        return _run(cfg)


def _run(cfg: Any) -> Result:
    out = Path(cfg.output_dir)
    seed = int(cfg.seed)
    torch.manual_seed(seed)
    data = prepare(cfg)
    device = device_of(cfg)
    started = time.perf_counter()
    model, report = train_lstm(cfg, data, device)
    train_seconds = time.perf_counter() - started
    baseline = KneserNeyLM(int(cfg.baseline.order), len(data.vocab), data.vocab.bos)
    baseline.fit(data.vocab.encode(p) for p in data.train)
    config = _dataclass_from(ev.EvalConfig, cfg.eval)
    stepper = NeuralStepper(model, device)
    lstm, lstm_precisions, continuations = score(stepper, data, config, seed)
    ngram, ngram_precisions, _ = score(NGramStepper(baseline), data, config, seed)
    val = data.splits.val[: int(cfg.data.max_val_poems) or None]
    metrics = {
        **lstm,
        "val_perplexity": report.val_perplexity,
        "baseline_val_perplexity": float(
            torch.tensor(baseline.mean_nll(data.vocab.encode(p) for p in val)).exp()
        ),
        **{f"baseline_{k}": v for k, v in ngram.items() if k != "generated_lines"},
        "form_correct_rate": ev.free_form_rate(stepper, data.vocab, FORMS["wujue"], config, seed),
        "train_seconds": train_seconds,
        "train_steps": float(report.steps),
        "train_epochs": report.epochs,
        "parameters": float(sum(p.numel() for p in model.parameters())),
        "vocab_size": float(len(data.vocab)),
    }
    artifacts = {
        "samples.md": write_samples(out / "samples.md", stepper, data, continuations, cfg),
        "loss.png": plot_history(out / "loss.png", report),
    }
    sizes = {k: v for k, v in dict(cfg.model).items() if k != "kind"}
    folder = save(model, str(cfg.model.kind), sizes, data.vocab, out / "model", metrics)
    return Result(
        metrics=metrics,
        dataset=_dataset_text(data),
        artifacts=artifacts,
        model_path=folder,
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
    path: Path, stepper: Stepper, data: Data, continuations: list[ev.Continuation], cfg: Any
) -> Path:
    """A few poems of each kind, as markdown."""
    s = cfg.samples
    sampling = Sampling(float(s.temperature), int(s.top_k), float(s.top_p))
    title = f"temperature {s.temperature}, top-k {s.top_k}, top-p {s.top_p}, seed {cfg.seed}"
    lines = [f"# s3.poetry samples ({title})", ""]
    for k, (name, form) in enumerate(FORMS.items()):
        lines.append(f"## {form.title} ({name})")
        for i in range(int(s.per_form)):
            seed = 1000 * int(cfg.seed) + 10 * k + i
            poem = write_poem(stepper, data.vocab, form, sampling=sampling, seed=seed)
            lines += ["", "  ".join(poem)]
        lines.append("")
    heads = str(s.heads)
    form = FORMS["wujue" if len(heads) == 4 else "wulv"]
    try:
        acrostic = "  ".join(write_poem(stepper, data.vocab, form, heads=heads, sampling=sampling))
    except RoadmapError as exc:  # a tiny vocabulary may lack a head character
        acrostic = f"(not written: {exc})"
    lines += [f"## 藏头诗 {heads} ({form.name})", "", acrostic, ""]
    lines += [f"## Held-out poems continued from their first line ({cfg.eval.decode})", ""]
    for c in continuations[: int(s.continuations)]:
        lines.append(f"- original: {''.join(c.poem.lines)}")
        lines.append(f"  - model: {c.poem.verses()[0]} / {' / '.join(c.generated)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plot_history(path: Path, report: TrainReport) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in report.history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, [row["train_loss"] for row in report.history], "o-", label="train (batch)")
    ax.plot(steps, [row["val_loss"] for row in report.history], "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("nats per character")
    ax.set_title("s3.poetry LSTM language model")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
