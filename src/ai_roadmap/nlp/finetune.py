"""Fine-tune a Hugging Face encoder folder for character-level BIO tagging, fully or with LoRA.

The encoder (``AutoModelForTokenClassification`` over a local ``save_pretrained`` folder,
read offline) gets a fresh linear head and is trained with softmax cross-entropy per
character: ``p(y_t | x) = softmax(W h_t + b)``, ``ℓ = −(1/N) Σ_t log p(y_t | x)`` over the
real characters (special tokens and padding carry the ignore label −100).

Characters map to tokens one to one and argmax tags are repaired to valid BIO as
:mod:`ai_roadmap.nlp.tagging` describes. Training sentences longer than ``max_len − 2``
characters are truncated (``truncated_train``); dev/test sentences are tagged in pieces
(``chunked_eval``), so every character gets a tag.

Modes. ``full`` trains every weight; ``lora`` wraps the attention projections with
:func:`ai_roadmap.nlp.lora.inject_lora` and trains only the adapters and the head. A plain
PyTorch loop (AdamW, linear warm-up and decay, seeded shuffles) keeps the best epoch by dev
score (``score_fn`` if given, else −dev loss) and stops after ``patience`` epochs without gain.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.lora import (
    LoRASettings,
    inject_lora,
    total_parameters,
    trainable_parameters,
    unload_lora,
)
from ai_roadmap.nlp.tagging import (
    IGNORE,
    CharEncoder,
    Tagged,
    check_max_len,
    check_tagged,
    collate,
    label_set,
    predict_tags,
)

Rows = list[tuple[list[int], list[int]]]  # (token ids, label ids) per sentence
ScoreFn = Callable[[list[list[str]], list[list[str]]], float]  # (gold, predicted) -> higher better


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyperparameters of one fine-tuning run."""

    mode: str = "full"  # "full" or "lora"
    max_len: int = 128  # tokens per sequence, the two special tokens included
    batch_size: int = 16  # sentences per step
    epochs: int = 10
    lr: float = 5e-5  # peak learning rate (LoRA usually wants ~10× more)
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1  # of all steps, linear warm-up then linear decay to 0
    patience: int = 2  # epochs without a better dev score before stopping
    lora: LoRASettings = field(default_factory=LoRASettings)
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.mode not in ("full", "lora"):
            raise UsageError(f"mode must be 'full' or 'lora', got {self.mode!r}")
        if self.max_len < 3 or self.batch_size < 1 or self.epochs < 1 or self.lr <= 0:
            raise UsageError("max_len ≥ 3, batch_size ≥ 1, epochs ≥ 1 and lr > 0 are required")


@dataclass
class FinetuneResult:
    """Predictions aligned with the characters of dev/test, and how the run went."""

    mode: str
    labels: list[str]
    dev_predictions: list[list[str]]
    test_predictions: list[list[str]]
    trainable_params: int
    total_params: int
    train_seconds: float
    tokens_per_second: float  # training tokens (specials included) per second of training
    epochs_run: int
    best_epoch: int  # 1-based
    train_losses: list[float]
    dev_losses: list[float]
    dev_scores: list[float]  # score_fn per epoch, or −dev loss without one
    truncated_train: int
    chunked_eval: int
    unk_rate: float  # share of train characters outside the tokenizer's vocabulary
    repaired_tags: int
    model: Any = field(repr=False)
    tokenizer: Any = field(repr=False)


# ---------------------------------------------------------------- batches


def _training_rows(
    data: Sequence[Tagged], enc: CharEncoder, label_id: dict[str, int], max_len: int
) -> tuple[Rows, int]:
    """(ids, label ids) per sentence, truncated to ``max_len``; and how many were truncated."""
    keep = max_len - enc.specials
    rows, truncated = [], 0
    for text, tags in data:
        truncated += len(text) > keep
        ids = enc.ids(text[:keep])
        labels = [label_id[t] for t in tags[:keep]]
        pad_front = [IGNORE] * (enc.start is not None)
        pad_back = [IGNORE] * (enc.end is not None)
        rows.append((ids, pad_front + labels + pad_back))
    return rows, truncated


def _batches(
    n: int, batch_size: int, lengths: Sequence[int], rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 50 batches, shuffle."""
    order = list(range(n))
    rng.shuffle(order)
    pool = batch_size * 50
    batches = []
    for start in range(0, n, pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


@torch.no_grad()
def _mean_loss(
    model: nn.Module,
    rows: Rows,
    pad: int,
    device: str,
    batch_size: int,
) -> float:
    """Mean cross-entropy per labelled character over ``rows``."""
    model.eval()
    total, count = 0.0, 0
    for b in range(0, len(rows), batch_size):
        batch = {k: v.to(device) for k, v in collate(rows[b : b + batch_size], pad).items()}
        n = int((batch["labels"] != IGNORE).sum())
        total += float(model(**batch).loss) * n
        count += n
    return total / max(count, 1)


# ---------------------------------------------------------------- training


def _load(encoder_dir: Path, labels: list[str], cfg: FinetuneConfig) -> tuple[Any, Any]:
    """Tokenizer and token-classification model from a local folder, LoRA-injected if asked."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK"):
        os.environ.setdefault(key, "1")
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not (encoder_dir / "config.json").is_file():
        raise UsageError(
            f"{encoder_dir} is not a Hugging Face model folder (no config.json); "
            "pass the folder the encoder was saved to with save_pretrained"
        )
    hf_logging.set_verbosity_error()  # a pretraining head's unused weights are expected
    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir, local_files_only=True)
    torch.manual_seed(cfg.seed)  # the new head's initial weights
    model = AutoModelForTokenClassification.from_pretrained(
        encoder_dir,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        local_files_only=True,
    )
    if cfg.mode == "lora":
        lora = cfg.lora
        inject_lora(model, lora.targets, lora.r, lora.alpha, lora.dropout, ("classifier",))
    return tokenizer, model.to(cfg.device)


def _schedule(
    optimizer: torch.optim.Optimizer, total: int, warmup: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup`` steps, then linear decay to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@dataclass
class _History:
    """Per-epoch curves, the best epoch and its trainable weights, training time and tokens."""

    train: list[float] = field(default_factory=list)
    dev: list[float] = field(default_factory=list)
    score: list[float] = field(default_factory=list)
    best_epoch: int = 0
    best_weights: dict[str, Tensor] = field(default_factory=dict)
    seconds: float = 0.0
    tokens: int = 0


def _train_epoch(
    model: Any, rows: Rows, batches: list[list[int]], step: Any, pad: int
) -> tuple[float, int]:
    """One pass over ``batches``: mean training loss and tokens seen (specials included)."""
    model.train()
    device = next(model.parameters()).device
    losses, tokens = [], 0
    for batch_ids in batches:
        batch = {k: v.to(device) for k, v in collate([rows[i] for i in batch_ids], pad).items()}
        loss = model(**batch).loss
        loss.backward()
        step()
        losses.append(loss.item())
        tokens += int(batch["attention_mask"].sum())
    return sum(losses) / len(losses), tokens


def _fit(
    model: Any, tokenizer: Any, rows: Rows, dev: Sequence[Tagged], dev_rows: Rows,
    cfg: FinetuneConfig, score_fn: ScoreFn | None,
) -> _History:  # fmt: skip
    """AdamW with warm-up/decay; keep the best dev epoch, stop after ``patience`` without gain."""
    pad = CharEncoder(tokenizer).pad
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * math.ceil(len(rows) / cfg.batch_size)
    scheduler = _schedule(optimizer, total, int(cfg.warmup_fraction * total))

    def step() -> None:
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)

    rng, lengths, history = random.Random(cfg.seed), [len(ids) for ids, _ in rows], _History()
    for epoch in range(1, cfg.epochs + 1):
        started = time.perf_counter()
        batches = _batches(len(rows), cfg.batch_size, lengths, rng)
        loss, tokens = _train_epoch(model, rows, batches, step, pad)
        history.seconds += time.perf_counter() - started
        history.tokens += tokens
        history.train.append(loss)
        history.dev.append(_mean_loss(model, dev_rows, pad, cfg.device, cfg.batch_size))
        if score_fn is None:
            history.score.append(-history.dev[-1])
        else:
            predicted, _ = predict_tags(model, tokenizer, [t for t, _ in dev], cfg.max_len)
            history.score.append(score_fn([tags for _, tags in dev], predicted))
        if history.score[-1] > max(history.score[:-1], default=-math.inf):
            history.best_epoch = epoch
            history.best_weights = {
                n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
            }
        elif epoch - history.best_epoch >= cfg.patience:
            break
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in history.best_weights:
                param.copy_(history.best_weights[name])
    return history


def finetune_tagger(
    encoder_dir: Path | str,
    train: Sequence[Tagged],
    dev: Sequence[Tagged],
    test: Sequence[Tagged],
    cfg: FinetuneConfig = FinetuneConfig(),
    score_fn: ScoreFn | None = None,
) -> FinetuneResult:
    """Fine-tune ``encoder_dir`` on ``train``, early-stop on ``dev``, tag ``dev`` and ``test``.

    ``score_fn(gold, predicted)`` (higher is better, e.g. entity F1) picks the best epoch;
    without it, the lowest dev loss does. Test tags are never read, only the texts.
    """
    if not train or not dev:
        raise UsageError("fine-tuning needs non-empty train and dev sets")
    labels = label_set(train)
    for name, data in (("train", train), ("dev", dev)):
        check_tagged(name, data, labels)
    random.seed(cfg.seed)
    tokenizer, model = _load(Path(encoder_dir), labels, cfg)
    enc, label_id = CharEncoder(tokenizer), {label: i for i, label in enumerate(labels)}
    check_max_len(model.config, cfg.max_len, enc.specials)
    rows, truncated = _training_rows(train, enc, label_id, cfg.max_len)
    dev_rows, _ = _training_rows(dev, enc, label_id, cfg.max_len)
    history = _fit(model, tokenizer, rows, dev, dev_rows, cfg, score_fn)
    dev_pred, dev_fix = predict_tags(model, tokenizer, [t for t, _ in dev], cfg.max_len)
    test_pred, test_fix = predict_tags(model, tokenizer, [t for t, _ in test], cfg.max_len)
    keep = cfg.max_len - enc.specials
    train_chars = sum(len(text) for text, _ in train)
    unk = sum(enc.char_id(c) == enc.unk for text, _ in train for c in text)
    return FinetuneResult(
        mode=cfg.mode,
        labels=labels,
        dev_predictions=dev_pred,
        test_predictions=test_pred,
        trainable_params=trainable_parameters(model),
        total_params=total_parameters(model),
        train_seconds=history.seconds,
        tokens_per_second=history.tokens / max(history.seconds, 1e-9),
        epochs_run=len(history.train),
        best_epoch=history.best_epoch,
        train_losses=history.train,
        dev_losses=history.dev,
        dev_scores=history.score,
        truncated_train=truncated,
        chunked_eval=sum(len(t) > keep for t, _ in [*dev, *test]),
        unk_rate=unk / max(train_chars, 1),
        repaired_tags=dev_fix + test_fix,
        model=model,
        tokenizer=tokenizer,
    )


def save_tagger(model: Any, tokenizer: Any, folder: Path | str) -> Path:
    """Save a fine-tuned tagger as a plain HF folder (LoRA merged in), written atomically.

    A LoRA model is merged on a copy (``unload_lora``), so ``model`` itself keeps its adapters;
    the folder then loads with ``AutoModelForTokenClassification.from_pretrained``.
    """
    import copy

    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    plain: Any = unload_lora(copy.deepcopy(model))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        plain.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
