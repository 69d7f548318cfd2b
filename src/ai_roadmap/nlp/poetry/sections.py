"""Config sections every poem language model shares (s3.poetry's LSTM, s4.transformer's
decoder): the same split, vocabulary and training data, so their figures compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Split:
    """Fractions of the poems held out, by a seeded permutation of whole poems."""

    val_fraction: float = 0.05
    test_fraction: float = 0.05


@dataclass(frozen=True)
class VocabSection:
    min_freq: int = 3  # rarer training characters become <unk>


@dataclass(frozen=True)
class DataSection:
    train_forms: Literal["all", "regulated"] = "all"
    max_train_poems: int = 0  # 0: the whole training split
    max_val_poems: int = 0  # validation poems for early stopping and perplexity (0: all)
