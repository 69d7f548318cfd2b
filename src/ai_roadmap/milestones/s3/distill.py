"""s3.distill — ResNet-18 distilled into MobileNetV2; the student exported for phones.

Three models on the same data, scored on the same test images:

1. the **teacher**, ResNet-18 (11.2 M parameters): by default the registry's
   ``s3.resnet18`` champion when it was trained on this kind of image (same
   shape and classes), else trained here first with the ``s3.resnet18`` recipe
   at this scale (``teacher.source``: auto | registry | train; or
   ``teacher.model_dir=PATH`` for a model folder of ``s3.resnet18``);
2. the **student with distillation**, MobileNetV2 (2.2 M, about 20 % of the
   teacher) trained on L = α T² KL(p_T ‖ q_T) + (1 − α) CE
   (:mod:`ai_roadmap.vision.distill`);
3. the **student without distillation**: the same network, initialisation,
   batches and schedule, trained on label-smoothed cross-entropy alone. The
   difference between 2 and 3 is what distillation bought.

The target is ``accuracy_drop_points = 100 · (acc_teacher − acc_student) < 1``.
The distilled student is then exported to TorchScript lite, ExecuTorch (XNNPACK)
and ONNX, each file checked in a fresh process (:mod:`ai_roadmap.deploy.export`).
On the Fashion-MNIST proxy the figures are reported, and the CIFAR-10 verdict
stays *not measured*.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ai_roadmap.artifacts.torch import save_torch_model
from ai_roadmap.config import typed
from ai_roadmap.datasets.images import ImageData, ImageSource, normalise
from ai_roadmap.deploy.export import ANDROID_NOTE, export_all, write_model_card
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.evaluate import predict
from ai_roadmap.training.hardware import autocast_dtype
from ai_roadmap.training.launch import torchrun_main
from ai_roadmap.training.loop import FitReport, TrainOptions, fit
from ai_roadmap.vision.cards import image_model_card
from ai_roadmap.vision.distill import FrozenTeacher, distillation_loss
from ai_roadmap.vision.mobilenetv2 import MobileNetV2, MobileNetV2Config
from ai_roadmap.vision.recipe import train_options
from ai_roadmap.vision.resnet import count_parameters
from ai_roadmap.vision.teacher import (
    TEACHER_ITEM,
    Teacher,
    teacher_from_folder,
    teacher_from_registry,
    train_teacher,
)

if TYPE_CHECKING:
    from omegaconf import DictConfig

TEACHER_SOURCES = ("auto", "registry", "train")
NOT_MEASURED = (
    "CIFAR-10 is not on this machine, so teacher and students were trained and scored on "
    "the Fashion-MNIST proxy; put CIFAR-10 under $ROADMAP_DATA_DIR/cifar10 and run "
    "`roadmap run s3.resnet18 --scale full`, then `roadmap run s3.distill --scale full`"
)


@dataclass(frozen=True)
class TeacherChoice:
    """Where the ResNet-18 teacher comes from."""

    source: str = "auto"  # auto | registry | train
    model_dir: str | None = None  # a model folder of s3.resnet18
    overrides: list[str] = field(default_factory=list)  # s3.resnet18 overrides for a new one

    def __post_init__(self) -> None:
        if self.source not in TEACHER_SOURCES:
            raise ValueError(f"teacher.source must be one of {', '.join(TEACHER_SOURCES)}")


@dataclass(frozen=True)
class Student:
    """MobileNetV2 α and dropout; α = 1 has 2.2 M parameters, 20 % of ResNet-18's."""

    width_mult: float = 1.0
    dropout: float = 0.2


@dataclass(frozen=True)
class Distillation:
    """L = α T² KL(p_T ‖ q_T) + (1 − α) CE(hard labels, smoothed by ``hard_label_smoothing``)."""

    temperature: float = 4.0
    alpha: float = 0.9
    hard_label_smoothing: float = 0.0


@dataclass(frozen=True)
class Export:
    """The formats the distilled student is exported to and how each file is checked."""

    formats: list[str] = field(default_factory=lambda: ["torchscript", "executorch", "onnx"])
    batch: int = 16  # real test images the exports are checked on
    repeats: int = 30  # latency: median of this many single-image runs


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.distill``."""

    seed: int = 0  # student initialisation (both students start from the same weights)
    scale: str = "quick"  # the scale a teacher trained here uses
    output_dir: str = "."
    data: ImageSource = field(default_factory=ImageSource)
    teacher: TeacherChoice = field(default_factory=TeacherChoice)
    student: Student = field(default_factory=Student)
    distill: Distillation = field(default_factory=Distillation)
    train: TrainOptions = field(default_factory=TrainOptions)
    export: Export = field(default_factory=Export)


# ── the teacher ──────────────────────────────────────────────────────────────────────


def get_teacher(cfg: Config | DictConfig, data: ImageData, out: Path) -> Teacher:
    """Resolve ``teacher.model_dir`` / ``teacher.source`` into a ResNet-18 teacher."""
    c = cfg if isinstance(cfg, Config) else typed(cfg, Config)
    choice = c.teacher
    if choice.model_dir:
        folder = Path(choice.model_dir).expanduser()
        if not folder.is_dir():
            raise UsageError(f"teacher.model_dir {folder} is not a folder of an s3.resnet18 model")
        found = teacher_from_folder(folder, data)
        if isinstance(found, str):
            raise UsageError(f"teacher.model_dir cannot teach this run: {found}")
        found.origin = f"teacher: model folder {folder}"
        return found
    if choice.source == "train":
        return train_teacher(c.scale, choice.overrides, data, out)
    found = teacher_from_registry(data)
    if not isinstance(found, str):
        return found
    if choice.source == "registry":
        raise RoadmapError(f"{found}; run `roadmap run {TEACHER_ITEM}` on the same dataset first")
    teacher = train_teacher(c.scale, choice.overrides, data, out)
    teacher.origin += f" because {found}"
    return teacher


# ── the students ─────────────────────────────────────────────────────────────────────


def build_student(c: Config, data: ImageData) -> MobileNetV2:
    """MobileNetV2 (CIFAR strides) initialised from ``c.seed``: both students start equal."""
    torch.manual_seed(c.seed)
    arch = MobileNetV2Config(
        in_channels=data.channels,
        num_classes=len(data.classes),
        width_mult=c.student.width_mult,
        dropout=c.student.dropout,
    )
    return MobileNetV2(arch)


def train_students(
    c: Config, data: ImageData, teacher: Teacher, out: Path
) -> tuple[FitReport, FitReport]:
    """(distilled, plain): same start, same batches; only the loss differs."""
    options = train_options(c.train, c.data, data, c.seed)
    frozen = FrozenTeacher(teacher.model, (data.mean, data.std), (teacher.mean, teacher.std))
    kd = c.distill
    loss = distillation_loss(frozen, kd.temperature, kd.alpha, kd.hard_label_smoothing)
    distilled = fit(build_student(c, data), data, options, loss, out / "ckpt_distilled")
    plain = fit(build_student(c, data), data, options, None, out / "ckpt_plain")
    return distilled, plain


# ── measuring, saving, exporting ─────────────────────────────────────────────────────


def predictions(
    model: nn.Module, data: ImageData, norm: tuple[Any, Any], c: Config
) -> tuple[torch.Tensor, torch.Tensor]:
    """Test-set predictions, plain and with flip TTA, of a model trained with ``norm``."""
    _, plain, tta = predict(
        model,
        data.test_images,
        normalise=lambda x: normalise(x, *norm),
        batch_size=c.train.eval_batch_size,
        dtype=autocast_dtype(c.train.precision, next(model.parameters()).device),
    )
    return plain.cpu(), tta.cpu()


def measure(
    c: Config, data: ImageData, teacher: Teacher, distilled: FitReport, plain: FitReport
) -> dict[str, float]:
    """Accuracies of all three on the same test images, the drop, the gain, sizes and speeds."""
    own = (data.mean, data.std)
    t, t_tta = predictions(teacher.model, data, (teacher.mean, teacher.std), c)
    s, s_tta = predictions(distilled.model, data, own, c)
    p, p_tta = predictions(plain.model, data, own, c)
    y = data.test_labels

    def acc(pred: torch.Tensor) -> float:
        return float((pred == y).double().mean())

    n_teacher, n_student = count_parameters(teacher.model), count_parameters(distilled.model)
    return {
        "accuracy_drop_points": 100.0 * (acc(t) - acc(s)),
        "distillation_gain_points": 100.0 * (acc(s) - acc(p)),
        "teacher_accuracy": acc(t),
        "teacher_accuracy_tta": acc(t_tta),
        "student_accuracy": acc(s),
        "student_accuracy_tta": acc(s_tta),
        "plain_student_accuracy": acc(p),
        "plain_student_accuracy_tta": acc(p_tta),
        "student_teacher_agreement": float((s == t).double().mean()),
        "teacher_params": float(n_teacher),
        "student_params": float(n_student),
        "param_ratio": n_student / n_teacher,
        "epochs": float(distilled.epochs),
        "teacher_train_seconds": teacher.train_seconds,
        "student_train_seconds": distilled.train_seconds,
        "plain_train_seconds": plain.train_seconds,
        "student_images_per_second": distilled.images_per_second,
        "plain_images_per_second": plain.images_per_second,
    }


def plot_histories(distilled: FitReport, plain: FitReport, path: Path) -> Path:
    """Training accuracy per epoch of both students (augmented batches)."""
    with figure(path) as (_, ax):
        for label, report in (("distilled", distilled), ("no distillation", plain)):
            epochs = [h["epoch"] for h in report.history]
            ax.plot(epochs, [h["accuracy"] for h in report.history], "o-", label=label)
        ax.set(xlabel="epoch", ylabel="training accuracy (augmented batches)", title="MobileNetV2")
        ax.legend()
    return path


def save_student(
    model: MobileNetV2, data: ImageData, metrics: dict[str, float], folder: Path
) -> Path:
    card = image_model_card("s3.distill", data, metrics)
    return save_torch_model(model, folder, card)


def export_student(
    c: Config, model: MobileNetV2, data: ImageData, out: Path
) -> tuple[dict[str, float], list[str]]:
    """Export to the configured formats, verify each in a fresh process; (metrics, notes)."""
    example = data.normalise(data.test_images[: c.export.batch])
    formats = tuple(c.export.formats)
    report = export_all(model.cpu(), example, out, "student", formats, repeats=c.export.repeats)
    report.write_csv(out / "exports.csv")
    write_model_card(report, out / "student.json", data.mean, data.std, data.classes)
    notes = [
        f"{row.format}: {row.path.name if row.path else '-'}, {row.size_bytes / 1e6:.1f} MB, "
        f"max |Δ| {row.max_abs_diff:.1e}, {row.latency_ms:.1f} ms/image"
        f"{', ' + row.detail if row.detail else ''}"
        for row in report.rows
    ]
    return report.metrics(), notes


# ── the milestone ────────────────────────────────────────────────────────────────────


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)  # teacher.source is checked before any data is read
    out = Path(c.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = c.data.load()
    teacher = get_teacher(c, data, out)
    distilled, plain = train_students(c, data, teacher, out)
    metrics = measure(c, data, teacher, distilled, plain)
    main = not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0
    artifacts: dict[str, Path] = {}
    notes = [
        teacher.origin,
        f"student: MobileNetV2 ×{c.student.width_mult:g}, "
        f"{metrics['param_ratio']:.0%} of the teacher's parameters; "
        f"distillation T = {c.distill.temperature:g}, α = {c.distill.alpha:g}",
    ]
    if main:
        histories = out / "histories.json"
        histories.write_text(
            json.dumps({"distilled": distilled.history, "plain": plain.history}, indent=2)
        )
        artifacts = {
            "student_curves.png": plot_histories(distilled, plain, out / "student_curves.png"),
            "histories.json": histories,
        }
        if c.export.formats:
            exported, export_notes = export_student(c, distilled.model, data, out / "export")
            metrics |= exported
            notes += export_notes
            if {"torchscript", "executorch"} & set(c.export.formats):
                notes.append(ANDROID_NOTE)
            artifacts["export"] = out / "export"
        save_student(distilled.model, data, metrics, out / "model")
    return Result(
        metrics=metrics,
        dataset=data.dataset,
        proxy=data.proxy,
        artifacts=artifacts,
        model_path=out / "model",
        params={"teacher": teacher.origin.split(" (")[0].split(" because")[0]},
        notes=notes,
        not_measured=NOT_MEASURED if data.proxy else None,
    )


def main(argv: list[str] | None = None) -> int:
    """``torchrun … -m ai_roadmap.milestones.s3.distill --scale S --out DIR [overrides]``."""
    return torchrun_main("s3.distill", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
