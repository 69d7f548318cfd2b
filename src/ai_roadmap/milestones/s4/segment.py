"""s4.segment — U-Net and DeepLabV3+ on composite scenes, strong vs light Albumentations.

Data: our own composite set (:mod:`ai_roadmap.vision.scenes`): real Tux Paint clip-art
pasted by its alpha mask onto real photographs, split by object (validation and test
scenes show stamp images the training scenes never do). Semantic masks: background + the
three classes, from the scenes' instance maps.

1. Every architecture in ``models`` (U-Net, DeepLabV3+) is trained with the **strong**
   pipeline on the same budget (steps, batch, seed); the one with the best validation
   mIoU is the *chosen architecture*.
2. The chosen architecture (``augment.compare=all``: every one) is trained again with the
   **light** pipeline (flip only) on the same budget, seed and scene order: the
   augmentation's effect is Δ mIoU = strong − light on the test split.
3. The *chosen model* is the run (architecture × augmentation) with the best validation
   mIoU — the test split plays no part in any choice. Its test figures: ``miou`` (the
   target, background included), per-class IoU and Dice, pixel accuracy; overlays of test
   scenes; run-time checks (ASPP dilation arithmetic, metrics against scikit-learn,
   augmented masks inside augmented boxes).
4. The chosen model is saved with its config, normalisation and class names and
   registered as ``s4.segment`` for export by a deploy milestone.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.artifacts.torch import save_torch_model
from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.errors import UsageError
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads
from ai_roadmap.vision.scenes import SceneConfig, Split, composite_scenes
from ai_roadmap.vision.segment import checks
from ai_roadmap.vision.segment.augment import StrongAugment, pipeline
from ai_roadmap.vision.segment.deeplab import DeepLabConfig, DeepLabV3Plus
from ai_roadmap.vision.segment.masks import semantic_masks
from ai_roadmap.vision.segment.metrics import confusion_matrix, summary
from ai_roadmap.vision.segment.overlay import overlay_grid
from ai_roadmap.vision.segment.train import TrainConfig, TrainReport, channel_stats, fit, score
from ai_roadmap.vision.segment.unet import UNet, UNetConfig

if TYPE_CHECKING:
    from omegaconf import DictConfig

ARCHITECTURES = {"unet": "U-Net", "deeplab": "DeepLabV3+"}


@dataclass(frozen=True)
class Augment:
    compare: str = "chosen"  # chosen | all: which architectures are also trained light
    strong: StrongAugment = field(default_factory=StrongAugment)

    def __post_init__(self) -> None:
        if self.compare not in ("chosen", "all"):
            raise ValueError("augment.compare must be chosen or all")


@dataclass(frozen=True)
class Report:
    overlays: int = 8  # test scenes drawn with their true and predicted masks
    check_scenes: int = 32  # training scenes whose augmented masks are checked against boxes


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s4.segment``."""

    seed: int = 0
    threads: int = 1  # torch CPU threads (0: torch's default)
    output_dir: str = "."
    scenes: SceneConfig = field(default_factory=SceneConfig)
    models: list[str] = field(default_factory=lambda: ["unet", "deeplab"])
    unet: UNetConfig = field(default_factory=UNetConfig)
    deeplab: DeepLabConfig = field(default_factory=DeepLabConfig)
    augment: Augment = field(default_factory=Augment)
    train: TrainConfig = field(default_factory=TrainConfig)
    report: Report = field(default_factory=Report)


@dataclass
class SegData:
    """Class names (background first), input normalisation, true validation/test masks."""

    names: list[str]
    norm: tuple[list[float], list[float]]
    val: np.ndarray
    test: np.ndarray


@dataclass
class Run:
    """One trained model and its test figures."""

    arch: str
    augment: str
    report: TrainReport
    test: dict[str, float]
    pred: np.ndarray


def checked(cfg: DictConfig | Config) -> Config:
    c = cfg if isinstance(cfg, Config) else typed(cfg, Config)
    unknown = [m for m in c.models if m not in ARCHITECTURES]
    if not c.models or unknown:
        raise UsageError(f"models must list some of {', '.join(ARCHITECTURES)}; got {c.models}")
    if c.scenes.size % 16:
        raise UsageError(f"scenes.size must be a multiple of 16 (got {c.scenes.size})")
    return c


def build(c: Config, arch: str, n_classes: int) -> nn.Module:
    """The architecture, initialised from ``c.seed`` (the strong and light runs start equal)."""
    torch.manual_seed(c.seed)
    if arch == "unet":
        return UNet(dataclasses.replace(c.unet, num_classes=n_classes))
    return DeepLabV3Plus(dataclasses.replace(c.deeplab, num_classes=n_classes))


def train_one(c: Config, arch: str, kind: str, splits: dict[str, Split], data: SegData) -> Run:
    transform = pipeline(kind, c.scenes.size, c.seed, c.augment.strong)
    model = build(c, arch, len(data.names))
    val = (splits["val"].images, data.val)
    report = fit(model, splits["train"], val, transform, c.train, c.seed, data.norm, data.names)
    cm, pred = score(
        report.model,
        splits["test"].images,
        data.test,
        data.norm,
        c.train.eval_batch_size,
        len(data.names),
    )
    return Run(arch, kind, report, summary(cm, data.names), pred)


def plot_curves(runs: list[Run], path: Path) -> Path:
    with figure(path) as (_, ax):
        for r in runs:
            steps = [h["step"] for h in r.report.history]
            ax.plot(
                steps,
                [h["val_miou"] for h in r.report.history],
                "o-",
                label=f"{ARCHITECTURES[r.arch]}, {r.augment}",
            )
        ax.set(xlabel="step", ylabel="validation mIoU", title="s4.segment")
        ax.legend()
    return path


def run_checks(
    c: Config, runs: list[Run], splits: dict[str, Split], data: SegData
) -> list[CheckRecord]:
    records = [
        checks.check_aspp(
            DeepLabV3Plus(dataclasses.replace(c.deeplab, num_classes=len(data.names))).aspp
        )
    ]
    records.append(checks.check_metrics(data.test, runs[0].pred, len(data.names)))
    strong = pipeline("strong", c.scenes.size, c.seed + 1, c.augment.strong)
    records.append(
        checks.check_augmented_boxes(splits["train"], strong, c.report.check_scenes, c.seed)
    )
    return records


def figures(runs: list[Run], chosen: Run, pair: tuple[Run, Run]) -> dict[str, float]:
    """The chosen model's test figures, every run's, and strong − light for ``pair``."""
    metrics = dict(chosen.test)
    for r in runs:
        tag = r.arch if r.augment == "strong" else f"{r.arch}_{r.augment}"
        metrics[f"{tag}_miou"] = r.test["miou"]
        metrics[f"{tag}_mdice"] = r.test["mdice"]
        metrics[f"{tag}_val_miou"] = r.report.best_val_miou
        metrics[f"{tag}_train_seconds"] = r.report.seconds
        metrics[f"{tag}_params"] = float(sum(p.numel() for p in r.report.model.parameters()))
    strong, light = pair
    metrics["aug_delta_miou"] = strong.test["miou"] - light.test["miou"]
    metrics["aug_delta_val_miou"] = strong.report.best_val_miou - light.report.best_val_miou
    metrics["chosen_strong"] = float(chosen.augment == "strong")
    return metrics


def save_model(
    c: Config, chosen: Run, data: SegData, metrics: dict[str, float], folder: Path
) -> Path:
    mean, std = data.norm
    size = c.scenes.size
    image = {"type": "image", "dtype": "uint8", "shape": [3, size, size], "mean": mean, "std": std}
    card = ModelCard(
        name="s4.segment",
        task="segmentation",
        target="mask",
        input_schema={"image": image},
        metrics=metrics,
        classes=data.names,
    )
    extra = {
        "architecture": chosen.arch,
        "augment": chosen.augment,
        "size": size,
        "mean": mean,
        "std": std,
        "classes": data.names,
        "scenes": f"{c.scenes.name}-{c.scenes.version()}",
        "output": "logits (B, classes, H, W); arg-max over classes is the mask",
    }
    return save_torch_model(
        chosen.report.model.cpu(),
        folder,
        card,
        extras={"segment.json": json.dumps(extra, indent=2)},
    )


def run(cfg: DictConfig) -> Result:
    c = checked(cfg)
    out = Path(c.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits = composite_scenes(c.scenes)
    data = SegData(
        names=["background", *c.scenes.class_names],
        norm=channel_stats(splits["train"].images),
        val=semantic_masks(splits["val"]),
        test=semantic_masks(splits["test"]),
    )
    with torch_threads(c.threads):
        runs = [train_one(c, arch, "strong", splits, data) for arch in c.models]
        arch = max(runs, key=lambda r: r.report.best_val_miou)
        light = [a for a in c.models if c.augment.compare == "all" or a == arch.arch]
        runs += [train_one(c, a, "light", splits, data) for a in light]
        chosen = max(runs, key=lambda r: r.report.best_val_miou)
        records = run_checks(c, [chosen], splits, data)
    light_run = next(r for r in runs if r.arch == arch.arch and r.augment == "light")
    metrics = figures(runs, chosen, (arch, light_run))
    check_metrics, check_notes = summarise(records)
    metrics |= check_metrics
    artifacts = write_artifacts(c, out, runs, (arch, light_run), splits["test"], data)
    artifacts["checks.csv"] = write_table(records, out / "checks.csv")
    save_model(c, chosen, data, metrics, out / "model")
    return Result(
        metrics=metrics,
        dataset=dataset_line(c, splits),
        artifacts=artifacts,
        model_path=out / "model",
        params={"chosen": chosen.arch, "augment": chosen.augment},
        notes=notes(c, runs, chosen, (arch, light_run)) + check_notes,
    )


def write_artifacts(
    c: Config, out: Path, runs: list[Run], shown: tuple[Run, Run], test: Split, data: SegData
) -> dict[str, Path]:
    """Overlays of the chosen architecture's strong and light runs, curves, histories and
    the confusion matrix of the chosen model."""
    k = min(c.report.overlays, len(test))
    artifacts = {
        f"overlays_test{'' if r.augment == 'strong' else '_' + r.augment}.png": overlay_grid(
            test.images[:k],
            data.test[:k],
            r.pred[:k],
            out / f"overlays_test{'' if r.augment == 'strong' else '_' + r.augment}.png",
        )
        for r in shown
    }
    artifacts["val_curves.png"] = plot_curves(runs, out / "val_curves.png")
    history = {f"{r.arch}_{r.augment}": r.report.history for r in runs}
    artifacts["histories.json"] = out / "histories.json"
    artifacts["histories.json"].write_text(json.dumps(history, indent=2))
    chosen = max(runs, key=lambda r: r.report.best_val_miou)
    cm = confusion_matrix(data.test, chosen.pred, len(data.names))
    artifacts["confusion_test.json"] = out / "confusion_test.json"
    artifacts["confusion_test.json"].write_text(
        json.dumps({"classes": data.names, "matrix": cm.tolist()})
    )
    return artifacts


def dataset_line(c: Config, splits: dict[str, Split]) -> str:
    counts = " / ".join(f"{len(splits[s])} {s}" for s in ("train", "val", "test"))
    return (
        f"composite scenes {c.scenes.name}-{c.scenes.version()} "
        f"({c.scenes.size}px, {counts}; classes {', '.join(c.scenes.class_names)})"
    )


def notes(c: Config, runs: list[Run], chosen: Run, pair: tuple[Run, Run]) -> list[str]:
    t = c.train
    strong, light = pair
    out = [
        "Data: our own composite set — real Tux Paint clip-art pasted by its alpha mask onto "
        "real photographs (gnome-backgrounds), split by object: validation/test scenes show "
        "stamp images no training scene shows.",
        f"Budget per model: {t.steps} steps of {t.batch_size} scenes (seed {c.seed}), AdamW "
        f"peak lr {t.lr:g}, cross-entropy + {t.dice_weight:g}·(1 − soft Dice); weights with "
        f"the best validation mIoU (scored every {t.eval_every} steps) kept.",
        f"Architecture chosen by validation mIoU (strong augmentation): "
        f"{ARCHITECTURES[strong.arch]} — "
        + ", ".join(
            f"{ARCHITECTURES[r.arch]} {r.report.best_val_miou:.3f}"
            for r in runs
            if r.augment == "strong"
        )
        + f". Model chosen by validation mIoU over every run: {ARCHITECTURES[chosen.arch]}, "
        f"{chosen.augment} augmentation ({chosen.report.best_val_miou:.3f}); "
        "the test split enters no choice.",
        f"miou: test mIoU of the chosen model over background + {len(c.scenes.class_names)} "
        "classes, from the confusion matrix summed over every test pixel (IoU = TP/(TP+FP+FN), "
        "Dice = 2TP/(2TP+FP+FN)); miou_objects leaves background out.",
        f"Augmentation effect ({ARCHITECTURES[strong.arch]}): strong "
        f"{strong.test['miou']:.3f} vs light (flip only) {light.test['miou']:.3f} test mIoU "
        f"(validation {strong.report.best_val_miou:.3f} vs {light.report.best_val_miou:.3f}) "
        "on the same budget, seed and scene order.",
    ]
    return out
