"""Seq2seq on written dates: the encoded task, one trained model and its held-out scores.

:func:`date_task` draws the pairs of :func:`ai_roadmap.datasets.dates.make_dates`, builds
the source vocabulary from the training sources (any other character becomes <unk>)
and the target vocabulary from the eleven ISO characters "0123456789-", and encodes
both splits. :func:`train_one` trains one :class:`~ai_roadmap.deep.seq2seq.Seq2Seq`
from a seed and scores it on the held-out dates: exact match over all of them and per
written format, so a format the model has not mastered shows even when the mean is high.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ai_roadmap.datasets.dates import DatePairs, make_dates
from ai_roadmap.deep import seq2seq as s2s

ISO_CHARACTERS = "0123456789-"


@dataclass(frozen=True)
class DateData:
    """The window of years and the number of pairs drawn."""

    first_year: int = 1950  # dates drawn from [first_year, last_year]; two-digit years
    last_year: int = 2049  # map into this window
    n_train: int = 50000  # (date, format) training pairs
    n_test: int = 2000  # held-out dates, never seen in training in any format


@dataclass(frozen=True)
class ModelSizes:
    """The encoder–decoder's sizes (:class:`~ai_roadmap.deep.seq2seq.Seq2SeqConfig`)."""

    embed: int = 16  # character embedding size
    enc_hidden: int = 32  # per direction; annotations are 2 × enc_hidden
    dec_hidden: int = 64  # must be 2 × enc_hidden for dot attention
    attn_size: int = 32  # hidden size of the additive score


@dataclass(frozen=True)
class Training:
    """Adam with a one-cycle schedule over ``steps``, gradient norm clipped to ``clip``."""

    steps: int = 500
    batch_size: int = 128  # pairs per step
    lr: float = 5e-3  # peak learning rate
    clip: float = 1.0  # max global gradient norm


@dataclass(frozen=True)
class DateTask:
    """Training and held-out pairs, the two vocabularies and the encoded tensors."""

    train: DatePairs
    test: DatePairs
    src_vocab: s2s.Vocab
    tgt_vocab: s2s.Vocab
    train_data: s2s.Encoded
    test_data: s2s.Encoded


def date_task(seed: int, d: DateData) -> DateTask:
    """The pairs of ``seed``, their vocabularies and both splits encoded."""
    train, test = make_dates(seed, d.n_train, d.n_test, d.first_year, d.last_year)
    src, tgt = s2s.Vocab("".join(train.sources)), s2s.Vocab(ISO_CHARACTERS)
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


def train_one(task: DateTask, sizes: ModelSizes, attention: str, t: Training, seed: int) -> Trained:
    """Train one attention type from ``seed``; score it on the held-out dates."""
    config = s2s.Seq2SeqConfig(
        len(task.src_vocab), len(task.tgt_vocab), sizes.embed, sizes.enc_hidden,
        sizes.dec_hidden, sizes.attn_size, attention,
    )  # fmt: skip
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = s2s.Seq2Seq(config)
    started = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    losses = s2s.train(model, task.train_data, t.steps, t.batch_size, t.lr, t.clip, gen)
    seconds = time.perf_counter() - started
    preds = s2s.predict(model, task.test_data, task.tgt_vocab)
    hits: dict[str, list[bool]] = {}
    for p, y, f in zip(preds, task.test.targets, task.test.formats, strict=True):
        hits.setdefault(f, []).append(p == y)
    per_format = {f: float(np.mean(h)) for f, h in sorted(hits.items())}
    em = s2s.exact_match(preds, task.test.targets)
    return Trained(attention, model, losses, preds, em, per_format, seconds)
