"""Training the tagger with early stopping on dev entity F1, and tagging many texts.

Each labelled text is cut into pieces (:func:`.features.pieces`); batches hold pieces
of similar length (shuffled, then sorted within windows of 50 batches) so padding
stays small. Every ``eval_every`` steps (0: once per epoch) the dev texts are tagged
and scored; the weights with the best dev F1 are kept and restored at the end, and
training stops after ``patience`` evaluations without improvement, after
``max_epochs``, or when ``max_seconds`` is spent. The test split is never looked at.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ai_roadmap.nlp.ner.features import Vocab, pieces
from ai_roadmap.nlp.ner.model import BiLSTMCRF
from ai_roadmap.nlp.ner.scorer import score

Example = tuple[list[int], list[int], list[int], list[int]]  # chars, left, right, tags


@dataclass(frozen=True)
class TrainConfig:
    """The loop's hyperparameters (Adam on the mean sequence NLL)."""

    batch_size: int = 32  # pieces per step
    lr: float = 0.002
    weight_decay: float = 0.0
    clip_norm: float = 5.0  # gradient-norm clip
    max_epochs: int = 10
    max_seconds: float = 0.0  # 0: no wall-clock cap
    eval_every: int = 0  # steps between dev evaluations (0: each epoch)
    patience: int = 3  # evaluations without a better dev F1 before stopping
    max_len: int = 100  # characters per piece
    max_dev_texts: int = 0  # dev texts scored at each evaluation (0: all)


@dataclass
class TrainReport:
    steps: int = 0
    epochs: float = 0.0
    seconds: float = 0.0
    best_dev_f1: float = 0.0
    stopped: str = ""
    history: list[dict[str, float]] = field(default_factory=list)


def examples(
    vocab: Vocab, texts: Sequence[str], labels: Sequence[Sequence[str]], max_len: int
) -> list[Example]:
    """Encoded training pieces of labelled texts."""
    out = []
    for text, tags in zip(texts, labels, strict=True):
        for a, b in pieces(text, max_len):
            chars, left, right = vocab.encode(text[a:b])
            out.append((chars, left, right, [vocab.tag_id[t] for t in tags[a:b]]))
    return out


def collate(batch: Sequence[Example]) -> tuple[torch.Tensor, ...]:
    """(chars, left, right, mask, tags), each (B, T), padded with 0."""
    width = max(len(e[0]) for e in batch)
    tensors = torch.zeros(4, len(batch), width, dtype=torch.long)
    for b, example in enumerate(batch):
        for k, ids in enumerate(example):
            tensors[k, b, : len(ids)] = torch.tensor(ids)
    mask = torch.arange(width).unsqueeze(0) < torch.tensor([len(e[0]) for e in batch]).unsqueeze(1)
    return tensors[0], tensors[1], tensors[2], mask, tensors[3]


def batches(data: Sequence[Example], size: int, rng: random.Random) -> list[list[Example]]:
    order = list(data)
    rng.shuffle(order)
    window = size * 50
    grouped = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda e: len(e[0]))
        grouped += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(grouped)
    return grouped


def tag_texts(
    model: BiLSTMCRF, vocab: Vocab, texts: Sequence[str], max_len: int = 100, batch: int = 128
) -> list[list[str]]:
    """IOB2 tags of every text (pieces tagged in length-sorted batches, joined back)."""
    model.eval()
    device = next(model.parameters()).device
    jobs = [(n, a, b) for n, text in enumerate(texts) for a, b in pieces(text, max_len)]
    jobs.sort(key=lambda j: j[2] - j[1])
    out: list[list[str]] = [["O"] * len(text) for text in texts]
    for start in range(0, len(jobs), batch):
        group = jobs[start : start + batch]
        encoded = [(*vocab.encode(texts[n][a:b]), [0] * (b - a)) for n, a, b in group]
        chars, left, right, mask, _ = (t.to(device) for t in collate(encoded))
        for (n, a, _b), path in zip(group, model.decode(chars, left, right, mask), strict=True):
            out[n][a : a + len(path)] = [vocab.tags[i] for i in path]
    return out


def dev_f1(
    model: BiLSTMCRF, vocab: Vocab, texts: Sequence[str], gold: Sequence[Sequence[str]]
) -> float:
    return score(gold, tag_texts(model, vocab, texts)).get("overall").f1  # type: ignore[union-attr]


def _is_embedding(model: BiLSTMCRF, p: torch.nn.Parameter) -> bool:
    return any(p is m.weight for m in model.modules() if isinstance(m, torch.nn.Embedding))


def _optimisers(model: BiLSTMCRF, cfg: TrainConfig) -> list[torch.optim.Optimizer]:
    """SparseAdam for the (sparse-gradient) embedding tables, Adam for the rest."""
    tables = [p for p in model.parameters() if _is_embedding(model, p) and p.requires_grad]
    rest = [p for p in model.parameters() if not _is_embedding(model, p)]
    out: list[torch.optim.Optimizer] = [
        torch.optim.Adam(rest, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ]
    if tables:
        out.append(torch.optim.SparseAdam(tables, lr=cfg.lr))
    return out


def train_tagger(
    model: BiLSTMCRF,
    vocab: Vocab,
    train: tuple[Sequence[str], Sequence[Sequence[str]]],
    dev: tuple[Sequence[str], Sequence[Sequence[str]]],
    cfg: TrainConfig,
    seed: int = 0,
    device: str = "cpu",
) -> TrainReport:
    """Fit ``model`` in place; the weights with the best dev F1 are left in it."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model.to(device)
    data = examples(vocab, train[0], train[1], cfg.max_len)
    dev_texts = list(dev[0][: cfg.max_dev_texts or None])
    dev_gold = list(dev[1][: cfg.max_dev_texts or None])
    optimisers = _optimisers(model, cfg)
    dense = [p for p in model.parameters() if not _is_embedding(model, p)]
    report, best_state, waited = TrainReport(), copy.deepcopy(model.state_dict()), 0
    started = time.perf_counter()
    per_epoch = max(1, -(-len(data) // cfg.batch_size))
    eval_every = cfg.eval_every or per_epoch
    losses: list[float] = []
    for _epoch in range(cfg.max_epochs):
        for group in batches(data, cfg.batch_size, rng):
            model.train()
            chars, left, right, mask, tags = (t.to(device) for t in collate(group))
            loss = model.loss(chars, left, right, mask, tags)
            for optimiser in optimisers:
                optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(dense, cfg.clip_norm)
            for optimiser in optimisers:
                optimiser.step()
            losses.append(float(loss.detach()))
            report.steps += 1
            out_of_time = bool(cfg.max_seconds) and time.perf_counter() - started > cfg.max_seconds
            if report.steps % eval_every and not out_of_time:
                continue
            f1 = dev_f1(model, vocab, dev_texts, dev_gold)
            report.history.append(
                {
                    "step": report.steps,
                    "epoch": report.steps / per_epoch,
                    "train_loss": sum(losses) / len(losses),
                    "dev_f1": f1,
                }
            )
            losses = []
            if f1 > report.best_dev_f1:
                report.best_dev_f1, best_state, waited = f1, copy.deepcopy(model.state_dict()), 0
            else:
                waited += 1
            if out_of_time or waited >= cfg.patience:
                report.stopped = "time budget" if out_of_time else "patience"
                break
        if report.stopped:
            break
    report.stopped = report.stopped or "max_epochs"
    if not report.history or report.history[-1]["step"] != report.steps:
        f1 = dev_f1(model, vocab, dev_texts, dev_gold)
        report.history.append(
            {
                "step": report.steps,
                "epoch": report.steps / per_epoch,
                "train_loss": 0.0,
                "dev_f1": f1,
            }
        )
        if f1 > report.best_dev_f1:
            report.best_dev_f1, best_state = f1, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    report.epochs = report.steps / per_epoch
    report.seconds = time.perf_counter() - started
    return report
