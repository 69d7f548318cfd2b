"""config.typed: a composed Hydra config read into frozen dataclasses, wrong keys refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from omegaconf import OmegaConf

from ai_roadmap.config import compose, typed
from ai_roadmap.errors import UsageError


@dataclass(frozen=True)
class Train:
    epochs: int
    lr: float = 0.1
    precision: Literal["auto", "fp32"] = "auto"
    sizes: tuple[int, ...] = (8, 16)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError("epochs must be ≥ 1")


@dataclass(frozen=True)
class Top:
    seed: int
    train: Train
    name: str | None = None
    where: Path | None = None
    pair: tuple[int, float] = (1, 2.0)
    weights: dict[str, float] = field(default_factory=dict)


def _cfg(**extra: object) -> object:
    base = {"seed": 3, "scale": "smoke", "output_dir": "/tmp/x", "train": {"epochs": 2, "lr": 1}}
    return OmegaConf.create({**base, **extra})


def test_values_are_converted_to_the_field_types() -> None:
    top = typed(_cfg(weights={"a": 1, "b": 0.5}, pair=[4, 5], where="~/w"), Top)
    assert top.train == Train(epochs=2, lr=1.0)
    assert isinstance(top.train.lr, float) and top.train.sizes == (8, 16)
    assert top.weights == {"a": 1.0, "b": 0.5} and top.pair == (4, 5.0)
    assert top.where == Path("~/w").expanduser() and top.name is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tran": {}}, r"unknown config key tran; Top takes: name, pair, seed, train"),
        ({"train": {"epochs": 2, "lrr": 1}}, r"unknown config key train\.lrr"),
        ({"train": {"lr": 1}}, r"config key train\.epochs is missing"),
        ({"train": {"epochs": "two"}}, r"train\.epochs: expected int, got 'two'"),
        ({"train": {"epochs": True}}, r"train\.epochs: expected int, got True"),
        ({"train": {"epochs": 1.5}}, r"train\.epochs: expected int, got 1\.5"),
        ({"train": {"epochs": 2, "precision": "bf8"}}, r"'bf8' is not one of 'auto', 'fp32'"),
        ({"train": {"epochs": 2, "sizes": 8}}, r"train\.sizes: expected a list"),
        ({"train": {"epochs": 2, "sizes": [8, "x"]}}, r"train\.sizes\[1\]: expected int"),
        ({"train": {"epochs": 0}}, r"config train: epochs must be ≥ 1"),
        ({"pair": [1, 2, 3]}, r"pair: expected 2 values"),
    ],
)
def test_a_wrong_key_or_value_is_one_usage_error(extra: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        typed(_cfg(**extra), Top)


def test_the_runner_keys_are_skipped_only_at_the_top() -> None:
    with pytest.raises(UsageError, match=r"unknown config key train\.scale"):
        typed(_cfg(train={"epochs": 1, "scale": "x"}), Top)


def test_every_built_milestone_config_is_read_whole_by_its_dataclass() -> None:
    """Each milestone declares ``Config``; its YAML at every scale has no key it ignores."""
    import importlib

    from ai_roadmap.catalog import load_catalog
    from ai_roadmap.config import SCALES

    built = [item for item in load_catalog().items if item.built]
    without = [
        i.id for i in built if not hasattr(importlib.import_module(i.module or ""), "Config")
    ]
    assert not without, f"milestones without a Config dataclass: {without}"
    for item in built:
        for scale in SCALES:
            typed(compose(item.id, scale), importlib.import_module(item.module or "").Config)
