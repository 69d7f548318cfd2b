"""torch models as model folders: a ``state_dict`` plus the class and config that rebuild it.

``architecture.json`` holds ``{"class": "ai_roadmap.vision.resnet.ResNet", "config": {…}}``:
the model class (its constructor takes one config dataclass) and that dataclass's
fields, so a folder rebuilds its network without the training code's config. The
weights are loaded with ``weights_only=True``: a model file can carry tensors, never
code. Folders written before the package layout changed name the old class paths
(flat: ``{"class": "ai_roadmap.deep.resnet.ResNet", "in_channels": 1, …}``);
``LEGACY_CLASSES`` maps them to where the classes live now.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import torch
from torch import nn

from ai_roadmap.artifacts import (
    ModelCard,
    atomic_folder,
    library_versions,
    verified_card,
    write_card,
)
from ai_roadmap.errors import RoadmapError

WEIGHTS_FILE = "model.pt"
ARCHITECTURE_FILE = "architecture.json"
LEGACY_CLASSES = {
    "ai_roadmap.deep.resnet.ResNet": "ai_roadmap.vision.resnet.ResNet",
    "ai_roadmap.deep.mobilenetv2.MobileNetV2": "ai_roadmap.vision.mobilenetv2.MobileNetV2",
}


def class_path(model: nn.Module) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"


def save_torch_model(
    model: nn.Module,
    folder: Path,
    card: ModelCard,
    extras: dict[str, str] | None = None,
) -> Path:
    """``model.pt``, ``architecture.json``, any ``extras`` (name → text) and the card, atomically.

    The model's ``cfg`` (or ``config``) attribute is the dataclass its constructor takes.
    """
    config = getattr(model, "cfg", None) or getattr(model, "config", None)
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"{class_path(model)} keeps no config dataclass in .cfg or .config")
    architecture = {"class": class_path(model), "config": dataclasses.asdict(config)}
    with atomic_folder(folder) as tmp:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        torch.save(state, tmp / WEIGHTS_FILE)
        (tmp / ARCHITECTURE_FILE).write_text(json.dumps(architecture, indent=2))
        for name, text in (extras or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        card.format = "torch"
        card.versions = {**library_versions(), "torch": torch.__version__}
        write_card(tmp, card, WEIGHTS_FILE)
    return folder


def read_architecture(folder: Path) -> tuple[str, dict[str, Any]]:
    """(class path, config fields) from ``architecture.json``, old flat files included."""
    path = folder / ARCHITECTURE_FILE
    if not path.exists():
        raise RoadmapError(f"{path} is missing; this folder does not hold a torch model")
    raw = json.loads(path.read_text())
    name = raw.pop("class")
    config = raw["config"] if set(raw) == {"config"} else raw
    return LEGACY_CLASSES.get(name, name), config


def load_torch_state(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], ModelCard]:
    """(state_dict, architecture with its current class path, card); refuses changed files."""
    card = verified_card(folder)
    name, config = read_architecture(folder)
    state = torch.load(folder / card.file, map_location="cpu", weights_only=True)
    return state, {"class": name, "config": config}, card


def model_class(name: str) -> type[nn.Module]:
    module, _, attr = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise RoadmapError(f"model class {name} is not in this version of ai-roadmap") from None
    return cls


def config_class(cls: type[nn.Module]) -> type:
    """The dataclass the model's constructor takes as its first argument."""
    hints = get_type_hints(cls.__init__)
    hints.pop("return", None)
    first = next(iter(hints.values()))
    if get_origin(first) in (Union, UnionType):
        first = next(a for a in get_args(first) if a is not type(None))
    if not dataclasses.is_dataclass(first):
        raise TypeError(f"{cls.__name__}'s constructor does not take a config dataclass")
    return first  # type: ignore[return-value]


def build(name: str, config: dict[str, Any]) -> nn.Module:
    """A fresh model of class ``name`` from its config fields."""
    from ai_roadmap.config import typed

    cls = model_class(name)
    return cls(typed(config, config_class(cls), where=f"{ARCHITECTURE_FILE}:"))


def load_torch_model(folder: Path, device: str = "cpu") -> tuple[nn.Module, ModelCard]:
    """The model rebuilt from its folder, weights loaded, in eval mode, and its card."""
    state, architecture, card = load_torch_state(folder)
    model = build(architecture["class"], architecture["config"])
    model.load_state_dict(state)
    return model.to(device).eval(), card
