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
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ai_roadmap.artifacts.torch import build, load_torch_state, save_torch_model
from ai_roadmap.deploy.export import ANDROID_NOTE, export_all, write_model_card
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.result import Result
from ai_roadmap.training.images import ImageData, load_image_data
from ai_roadmap.training.loop import (
    FitReport,
    autocast_dtype,
    fit,
    image_model_card,
    options_from_config,
    predict,
    torchrun_main,
)
from ai_roadmap.vision.distill import FrozenTeacher, distillation_loss
from ai_roadmap.vision.mobilenetv2 import MobileNetV2, MobileNetV2Config
from ai_roadmap.vision.resnet import ResNet, count_parameters

TEACHER_ITEM = "s3.resnet18"
TEACHER_SOURCES = ("auto", "registry", "train")
NOT_MEASURED = (
    "CIFAR-10 is not on this machine, so teacher and students were trained and scored on "
    "the Fashion-MNIST proxy; put CIFAR-10 under $ROADMAP_DATA_DIR/cifar10 and run "
    "`roadmap run s3.resnet18 --scale full`, then `roadmap run s3.distill --scale full`"
)


@dataclass
class Teacher:
    """The ResNet-18 teacher, the normalisation it was trained with, and where it came from."""

    model: ResNet
    mean: tuple[float, ...]
    std: tuple[float, ...]
    origin: str  # one line for the notes
    train_seconds: float = 0.0  # 0 when loaded


# ── the teacher ──────────────────────────────────────────────────────────────────────


def teacher_from_folder(folder: Path, data: ImageData) -> Teacher | str:
    """The ResNet-18 saved in ``folder``, or why it cannot teach on ``data`` (one line)."""
    state, architecture, card = load_torch_state(folder)
    if architecture.get("class") != "ai_roadmap.vision.resnet.ResNet":
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


def train_teacher(cfg: Any, data: ImageData, out: Path) -> Teacher:
    """ResNet-18 trained here with the s3.resnet18 recipe at this run's scale, on this data."""
    from ai_roadmap.config import compose
    from ai_roadmap.milestones.s3.resnet18 import build_model

    recipe = compose(TEACHER_ITEM, str(cfg.scale), list(cfg.teacher.overrides or []))
    model = build_model(recipe, data)
    options = options_from_config(recipe, data)
    report = fit(model, data, options, checkpoint_dir=out / "teacher_ckpt")
    origin = (
        f"teacher: ResNet-18 trained in this run ({TEACHER_ITEM} recipe at {cfg.scale}, "
        f"{report.epochs} epoch(s), {report.images_per_second:.1f} images/s)"
    )
    return Teacher(report.model, data.mean, data.std, origin, report.train_seconds)


def teacher_source(cfg: Any) -> str:
    """``teacher.source``, or a one-line error naming the choices."""
    source = str(cfg.teacher.source)
    if source not in TEACHER_SOURCES:
        raise UsageError(f"teacher.source must be one of {', '.join(TEACHER_SOURCES)}")
    return source


def get_teacher(cfg: Any, data: ImageData, out: Path) -> Teacher:
    """Resolve ``teacher.model_dir`` / ``teacher.source`` into a ResNet-18 teacher."""
    source = teacher_source(cfg)
    if cfg.teacher.model_dir:
        folder = Path(cfg.teacher.model_dir).expanduser()
        if not folder.is_dir():
            raise UsageError(f"teacher.model_dir {folder} is not a folder of an s3.resnet18 model")
        found = teacher_from_folder(folder, data)
        if isinstance(found, str):
            raise UsageError(f"teacher.model_dir cannot teach this run: {found}")
        found.origin = f"teacher: model folder {folder}"
        return found
    if source == "train":
        return train_teacher(cfg, data, out)
    found = teacher_from_registry(data)
    if not isinstance(found, str):
        return found
    if source == "registry":
        raise RoadmapError(f"{found}; run `roadmap run {TEACHER_ITEM}` on the same dataset first")
    teacher = train_teacher(cfg, data, out)
    teacher.origin += f" because {found}"
    return teacher


# ── the students ─────────────────────────────────────────────────────────────────────


def build_student(cfg: Any, data: ImageData) -> MobileNetV2:
    """MobileNetV2 (CIFAR strides) initialised from ``cfg.seed``: both students start equal."""
    torch.manual_seed(int(cfg.seed))
    arch = MobileNetV2Config(
        in_channels=data.channels,
        num_classes=len(data.classes),
        width_mult=float(cfg.student.width_mult),
        dropout=float(cfg.student.dropout),
    )
    return MobileNetV2(arch)


def train_students(
    cfg: Any, data: ImageData, teacher: Teacher, out: Path
) -> tuple[FitReport, FitReport]:
    """(distilled, plain): same start, same batches; only the loss differs."""
    options = options_from_config(cfg, data)
    frozen = FrozenTeacher(teacher.model, (data.mean, data.std), (teacher.mean, teacher.std))
    kd = cfg.distill
    loss = distillation_loss(
        frozen, float(kd.temperature), float(kd.alpha), float(kd.hard_label_smoothing)
    )
    distilled = fit(build_student(cfg, data), data, options, loss, out / "ckpt_distilled")
    plain = fit(build_student(cfg, data), data, options, None, out / "ckpt_plain")
    return distilled, plain


# ── measuring, saving, exporting ─────────────────────────────────────────────────────


def predictions(
    model: nn.Module, data: ImageData, norm: tuple[Any, Any], cfg: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """Test-set predictions, plain and with flip TTA, of a model trained with ``norm``."""
    from ai_roadmap.training.images import normalise

    _, plain, tta = predict(
        model,
        data.test_images,
        normalise=lambda x: normalise(x, *norm),
        batch_size=int(cfg.train.eval_batch_size),
        dtype=autocast_dtype(cfg.train.precision, next(model.parameters()).device),
    )
    return plain.cpu(), tta.cpu()


def measure(
    cfg: Any, data: ImageData, teacher: Teacher, distilled: FitReport, plain: FitReport
) -> dict[str, float]:
    """Accuracies of all three on the same test images, the drop, the gain, sizes and speeds."""
    own = (data.mean, data.std)
    t, t_tta = predictions(teacher.model, data, (teacher.mean, teacher.std), cfg)
    s, s_tta = predictions(distilled.model, data, own, cfg)
    p, p_tta = predictions(plain.model, data, own, cfg)
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, report in (("distilled", distilled), ("no distillation", plain)):
        epochs = [h["epoch"] for h in report.history]
        ax.plot(epochs, [h["accuracy"] for h in report.history], "o-", label=label)
    ax.set(xlabel="epoch", ylabel="training accuracy (augmented batches)", title="MobileNetV2")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_student(
    model: MobileNetV2, data: ImageData, metrics: dict[str, float], folder: Path
) -> Path:
    card = image_model_card("s3.distill", data, metrics)
    return save_torch_model(model, folder, card)


def export_student(
    cfg: Any, model: MobileNetV2, data: ImageData, out: Path
) -> tuple[dict[str, float], list[str]]:
    """Export to the configured formats, verify each in a fresh process; (metrics, notes)."""
    example = data.normalise(data.test_images[: int(cfg.export.batch)])
    formats = tuple(cfg.export.formats)
    report = export_all(
        model.cpu(), example, out, "student", formats, repeats=int(cfg.export.repeats)
    )
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


def run(cfg: Any) -> Result:
    teacher_source(cfg)  # checked before any data is read
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_image_data(
        cfg.data.source, cfg.data.n_train, cfg.data.n_test, seed=int(cfg.data.subset_seed)
    )
    teacher = get_teacher(cfg, data, out)
    distilled, plain = train_students(cfg, data, teacher, out)
    metrics = measure(cfg, data, teacher, distilled, plain)
    main = not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0
    artifacts: dict[str, Path] = {}
    notes = [
        teacher.origin,
        f"student: MobileNetV2 ×{float(cfg.student.width_mult):g}, "
        f"{metrics['param_ratio']:.0%} of the teacher's parameters; "
        f"distillation T = {float(cfg.distill.temperature):g}, α = {float(cfg.distill.alpha):g}",
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
        if cfg.export.formats:
            exported, export_notes = export_student(cfg, distilled.model, data, out / "export")
            metrics |= exported
            notes += export_notes
            if {"torchscript", "executorch"} & set(cfg.export.formats):
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
