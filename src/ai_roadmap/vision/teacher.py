"""A trained ResNet-18 as a teacher: from a model folder, the registry, or trained here.

A teacher fits a run when it was trained on images of the same shape and classes;
otherwise each finder says why not in one line, so the caller can fall back or
tell the user. The teacher carries the normalisation it was trained with, which may
differ from the student's (:class:`ai_roadmap.vision.distill.FrozenTeacher`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ai_roadmap.artifacts.torch import build, load_torch_state
from ai_roadmap.config import compose, typed
from ai_roadmap.datasets.images import ImageData
from ai_roadmap.errors import RoadmapError
from ai_roadmap.training.loop import fit
from ai_roadmap.vision.recipe import ResNet18Recipe, build_resnet18, train_options
from ai_roadmap.vision.resnet import ResNet

TEACHER_ITEM = "s3.resnet18"
RESNET_CLASS = "ai_roadmap.vision.resnet.ResNet"


@dataclass
class Teacher:
    """The ResNet-18 teacher, the normalisation it was trained with, and where it came from."""

    model: ResNet
    mean: tuple[float, ...]
    std: tuple[float, ...]
    origin: str  # one line for the notes
    train_seconds: float = 0.0  # 0 when loaded


def teacher_from_folder(folder: Path, data: ImageData) -> Teacher | str:
    """The ResNet-18 saved in ``folder``, or why it cannot teach on ``data`` (one line)."""
    state, architecture, card = load_torch_state(folder)
    if architecture.get("class") != RESNET_CLASS:
        return f"{folder} holds {architecture.get('class')}, not a ResNet"
    image = card.input_schema.get("image", {})
    wanted = [data.channels, data.image_size, data.image_size]
    if image.get("shape") != wanted or list(card.classes) != list(data.classes):
        return (
            f"it was trained on {image.get('shape')} images of {len(card.classes)} classes, "
            f"this run has {wanted} images of {data.dataset.split(',')[0]}"
        )
    model = build(architecture["class"], architecture["config"])
    model.load_state_dict(state)
    return Teacher(model, tuple(image["mean"]), tuple(image["std"]), "")


def teacher_from_registry(data: ImageData) -> Teacher | str:
    """The ``s3.resnet18`` champion, or why there is none that fits (one line)."""
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    with tempfile.TemporaryDirectory(prefix="teacher-") as tmp:
        try:
            folder, version = champion_model_dir(get_settings(), TEACHER_ITEM, Path(tmp))
        except RoadmapError:
            return f"the registry has no {TEACHER_ITEM} model yet"
        found = teacher_from_folder(folder, data)
    if isinstance(found, str):
        return f"the registry's {TEACHER_ITEM} v{version} does not fit: {found}"
    found.origin = f"teacher: registry model {TEACHER_ITEM} v{version}"
    return found


def train_teacher(scale: str, overrides: list[str], data: ImageData, out: Path) -> Teacher:
    """ResNet-18 trained here with the s3.resnet18 recipe at ``scale``, on ``data``."""
    recipe = typed(compose(TEACHER_ITEM, scale, overrides), ResNet18Recipe)
    model = build_resnet18(recipe, data)
    options = train_options(recipe.train, recipe.data, data, recipe.seed)
    report = fit(model, data, options, checkpoint_dir=out / "teacher_ckpt")
    origin = (
        f"teacher: ResNet-18 trained in this run ({TEACHER_ITEM} recipe at {scale}, "
        f"{report.epochs} epoch(s), {report.images_per_second:.1f} images/s)"
    )
    return Teacher(report.model, data.mean, data.std, origin, report.train_seconds)
