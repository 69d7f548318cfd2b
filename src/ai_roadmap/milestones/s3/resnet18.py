"""s3.resnet18 — ResNet-18 in plain PyTorch trained to 94 % on CIFAR-10 (or its offline proxy).

The model is :mod:`ai_roadmap.vision.resnet` (CIFAR stem) built by the recipe of
:mod:`ai_roadmap.vision.recipe`, the data
:mod:`ai_roadmap.datasets.images`, the training :func:`ai_roadmap.training.loop.fit`
(Nesterov SGD, one-cycle learning rate, label smoothing, crop + flip, channels-last,
bf16 where the hardware has it). The test set is scored with and without
test-time flip augmentation; ``test_accuracy`` is the plain figure the target
is judged on, ``test_accuracy_tta`` the flip-averaged one.

Data: CIFAR-10 when ``$ROADMAP_DATA_DIR/cifar10`` holds it (``data.source=auto``)
or when asked for (``data.source=cifar10``); otherwise Fashion-MNIST as a named
proxy, and the CIFAR-10 verdict stays *not measured*.

Scale out over N processes (GPUs or CPU sockets) without code changes::

    torchrun --nproc_per_node 4 -m ai_roadmap.milestones.s3.resnet18 --scale full --out runs/r18

(rank 0 writes the model and figures; ``roadmap run`` is the single-process path).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ai_roadmap.artifacts.torch import save_torch_model
from ai_roadmap.config import typed
from ai_roadmap.datasets.images import ImageData
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.evaluate import evaluate
from ai_roadmap.training.hardware import autocast_dtype
from ai_roadmap.training.launch import torchrun_main
from ai_roadmap.training.loop import FitReport, fit
from ai_roadmap.vision.cards import image_model_card
from ai_roadmap.vision.recipe import ResNet18Recipe, build_resnet18, train_options
from ai_roadmap.vision.resnet import ResNet, count_parameters

if TYPE_CHECKING:
    from omegaconf import DictConfig

NOT_MEASURED = (
    "CIFAR-10 is not on this machine, so the model was trained and scored on the "
    "Fashion-MNIST proxy; put CIFAR-10 under $ROADMAP_DATA_DIR/cifar10 and run "
    "`roadmap run s3.resnet18 --scale full` to measure the 94 % target"
)

Config = ResNet18Recipe  # the whole of conf/s3.resnet18 (shared with s3.distill's teacher)


def plot_history(history: list[dict[str, float]], path: Path) -> Path:
    """Training loss and accuracy (on augmented batches) per epoch."""
    epochs = [h["epoch"] for h in history]
    with figure(path, ncols=2, figsize=(10, 4)) as (_, (left, right)):
        left.plot(epochs, [h["loss"] for h in history], "o-")
        left.set(xlabel="epoch", ylabel="training loss (label-smoothed)", title="loss")
        right.plot(epochs, [h["accuracy"] for h in history], "o-")
        right.set(xlabel="epoch", ylabel="accuracy on augmented batches", title="training accuracy")
    return path


def save_model(model: ResNet, data: ImageData, metrics: dict[str, float], folder: Path) -> Path:
    """The state_dict with its card (sha256, input shape, normalisation) and architecture."""
    card = image_model_card("s3.resnet18", data, metrics)
    return save_torch_model(model, folder, card)


def measure(report: FitReport, data: ImageData, c: Config) -> dict[str, float]:
    """Test accuracy with and without flip TTA, and how fast the training ran."""
    dtype = autocast_dtype(c.train.precision, next(report.model.parameters()).device)
    scores = evaluate(
        report.model,
        data.test_images,
        data.test_labels,
        normalise=data.normalise,
        tta=True,
        batch_size=c.train.eval_batch_size,
        dtype=dtype,
    )
    threads = torch.get_num_threads()
    return {
        "test_accuracy": scores["accuracy"],
        "test_accuracy_tta": scores["accuracy_tta"],
        "epochs": float(report.epochs),
        "train_seconds": report.train_seconds,
        "train_images_per_second": report.images_per_second,
        # < 1 when other processes share the CPU: then img/s understates this machine
        "cpu_utilisation": report.cpu_seconds / max(report.train_seconds * threads, 1e-9),
        "params": float(count_parameters(report.model)),
    }


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = c.data.load()
    model = build_resnet18(c, data)
    options = train_options(c.train, c.data, data, c.seed)
    checkpoints = Path(c.checkpoint_dir).expanduser() if c.checkpoint_dir else out / "ckpt"
    report = fit(model, data, options, checkpoint_dir=checkpoints)
    metrics = measure(report, data, c)
    artifacts: dict[str, Path] = {}
    if not torch.distributed.is_initialized() or torch.distributed.get_rank() == 0:
        history_path = out / "history.json"
        history_path.write_text(json.dumps(report.history, indent=2))
        artifacts = {
            "training_curve.png": plot_history(report.history, out / "training_curve.png"),
            "history.json": history_path,
        }
        save_model(report.model, data, metrics, out / "model")
    notes = [
        f"trained {report.epochs} epochs with batch {options.batch_size} on "
        f"{report.world_size} process(es), {report.precision}"
        f"{', channels-last' if report.channels_last else ''}"
        f"{', torch.compile' if report.compiled else ''}: "
        f"{metrics['train_images_per_second']:.1f} images/s",
    ]
    return Result(
        metrics=metrics,
        dataset=data.dataset,
        proxy=data.proxy,
        artifacts=artifacts,
        model_path=out / "model",
        params={"precision": report.precision, "world_size": report.world_size},
        notes=notes,
        not_measured=NOT_MEASURED if data.proxy else None,
    )


def main(argv: list[str] | None = None) -> int:
    """``torchrun … -m ai_roadmap.milestones.s3.resnet18 --scale S --out DIR [overrides]``."""
    return torchrun_main("s3.resnet18", run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
