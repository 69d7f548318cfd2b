"""s3.resnet18 — ResNet-18 in plain PyTorch trained to 94 % on CIFAR-10 (or its offline proxy).

The model is :mod:`ai_roadmap.vision.resnet` (CIFAR stem), the data
:mod:`ai_roadmap.training.images`, the training :func:`ai_roadmap.training.loop.fit`
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
from typing import Any

import torch

from ai_roadmap.artifacts.torch import save_torch_model
from ai_roadmap.result import Result
from ai_roadmap.training.images import ImageData, load_image_data
from ai_roadmap.training.loop import (
    FitReport,
    autocast_dtype,
    evaluate,
    fit,
    image_model_card,
    options_from_config,
    torchrun_main,
)
from ai_roadmap.vision.resnet import ResNet, ResNetConfig, count_parameters

NOT_MEASURED = (
    "CIFAR-10 is not on this machine, so the model was trained and scored on the "
    "Fashion-MNIST proxy; put CIFAR-10 under $ROADMAP_DATA_DIR/cifar10 and run "
    "`roadmap run s3.resnet18 --scale full` to measure the 94 % target"
)


def build_model(cfg: Any, data: ImageData) -> ResNet:
    """ResNet-18 for the data's channels and classes, initialised from ``cfg.seed``."""
    torch.manual_seed(int(cfg.seed))
    arch = ResNetConfig(
        in_channels=data.channels,
        num_classes=len(data.classes),
        base_width=int(cfg.model.base_width),
    )
    return ResNet(arch)


def plot_history(history: list[dict[str, float]], path: Path) -> Path:
    """Training loss and accuracy (on augmented batches) per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [h["loss"] for h in history], "o-")
    left.set(xlabel="epoch", ylabel="training loss (label-smoothed)", title="loss")
    right.plot(epochs, [h["accuracy"] for h in history], "o-")
    right.set(xlabel="epoch", ylabel="accuracy on augmented batches", title="training accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save_model(model: ResNet, data: ImageData, metrics: dict[str, float], folder: Path) -> Path:
    """The state_dict with its card (sha256, input shape, normalisation) and architecture."""
    card = image_model_card("s3.resnet18", data, metrics)
    return save_torch_model(model, folder, card)


def measure(report: FitReport, data: ImageData, cfg: Any) -> dict[str, float]:
    """Test accuracy with and without flip TTA, and how fast the training ran."""
    dtype = autocast_dtype(cfg.train.precision, next(report.model.parameters()).device)
    scores = evaluate(
        report.model,
        data.test_images,
        data.test_labels,
        normalise=data.normalise,
        tta=True,
        batch_size=int(cfg.train.eval_batch_size),
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


def run(cfg: Any) -> Result:
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_image_data(
        cfg.data.source, cfg.data.n_train, cfg.data.n_test, seed=int(cfg.data.subset_seed)
    )
    model = build_model(cfg, data)
    options = options_from_config(cfg, data)
    checkpoints = Path(cfg.checkpoint_dir).expanduser() if cfg.checkpoint_dir else out / "ckpt"
    report = fit(model, data, options, checkpoint_dir=checkpoints)
    metrics = measure(report, data, cfg)
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
