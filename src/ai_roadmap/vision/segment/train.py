"""Training and scoring a segmenter on composite scenes, on a fixed budget of steps.

The loss per batch is cross-entropy plus ``dice_weight`` × (1 − soft Dice), the soft
Dice being 2 Σ p·y / (Σ p + Σ y) per class over the batch's pixels (p = softmax,
y = one-hot), averaged over classes: cross-entropy gives every pixel a gradient, the
Dice term keeps the small object classes from drowning in background pixels.

Budget: ``steps`` batches of ``batch_size`` scenes, drawn by a generator seeded with
``seed``, each scene augmented by a pipeline seeded with ``seed`` too — two runs that
differ only in the augmentation see the same scenes in the same order for the same
number of steps. AdamW, linear warm-up then cosine decay to 0. Every ``eval_every``
steps (and at the end) the model is scored on the validation split; the weights with the
best validation mIoU are kept (early stopping without stopping).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.vision.scenes import Split
from ai_roadmap.vision.segment.augment import apply
from ai_roadmap.vision.segment.masks import instance_classes, semantic_mask
from ai_roadmap.vision.segment.metrics import confusion_matrix, summary


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 800
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup: float = 0.05  # fraction of the steps
    dice_weight: float = 0.5
    eval_every: int = 200  # steps between validation scores (0: only at the end)
    eval_batch_size: int = 32
    device: str = "auto"  # auto | cpu | cuda


@dataclass
class TrainReport:
    model: nn.Module
    best_val_miou: float
    best_step: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def device_of(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images, on the 0–1 scale."""
    x = images.reshape(-1, images.shape[-1]).astype(np.float64) / 255.0
    return x.mean(0).tolist(), x.std(0).tolist()


def to_input(
    images: np.ndarray, mean: list[float], std: list[float], dev: torch.device
) -> torch.Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float, standardised per channel."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(dev).permute(0, 3, 1, 2).float() / 255
    m = torch.tensor(mean, device=dev).view(1, -1, 1, 1)
    s = torch.tensor(std, device=dev).view(1, -1, 1, 1)
    return (x - m) / s


def augmented_batch(split: Split, idx: np.ndarray, transform: Any) -> tuple[np.ndarray, np.ndarray]:
    """(images, semantic masks) of scenes ``idx`` after one draw of ``transform`` each."""
    images, masks = [], []
    for i in idx:
        boxes, _ = split.targets(int(i))
        image, inst, _, _ = apply(transform, split.images[i], split.instances[i], boxes)
        images.append(image)
        masks.append(semantic_mask(inst, instance_classes(split, int(i))))
    return np.stack(images), np.stack(masks)


def seg_loss(logits: torch.Tensor, target: torch.Tensor, dice_weight: float) -> torch.Tensor:
    """Cross-entropy + dice_weight · (1 − mean soft Dice over classes)."""
    ce = F.cross_entropy(logits, target)
    if dice_weight == 0:
        return ce
    p = logits.float().softmax(1)
    y = F.one_hot(target, p.shape[1]).permute(0, 3, 1, 2).float()
    dice = (2 * (p * y).sum((0, 2, 3)) + 1) / (p.sum((0, 2, 3)) + y.sum((0, 2, 3)) + 1)
    return ce + dice_weight * (1 - dice.mean())


def lr_at(step: int, total: int, warmup: float) -> float:
    """Multiplier of the peak rate: linear warm-up, then cosine to 0."""
    w = max(1, round(warmup * total))
    if step < w:
        return (step + 1) / w
    return 0.5 * (1 + np.cos(np.pi * (step - w) / max(1, total - w)))


@torch.no_grad()
def predict(
    model: nn.Module, images: np.ndarray, norm: tuple[list[float], list[float]], batch: int
) -> np.ndarray:
    """(N, H, W) uint8 arg-max labels."""
    model.eval()
    dev = next(model.parameters()).device
    out = [
        model(to_input(images[i : i + batch], *norm, dev)).argmax(1).to(torch.uint8).cpu().numpy()
        for i in range(0, len(images), batch)
    ]
    return np.concatenate(out)


def score(
    model: nn.Module, images: np.ndarray, masks: np.ndarray, norm: Any, batch: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(confusion matrix, predictions) on a split."""
    pred = predict(model, images, norm, batch)
    return confusion_matrix(masks, pred, n), pred


def fit(
    model: nn.Module,
    train: Split,
    val: tuple[np.ndarray, np.ndarray],
    transform: Any,
    cfg: TrainConfig,
    seed: int,
    norm: tuple[list[float], list[float]],
    names: list[str],
) -> TrainReport:
    """Train for ``cfg.steps`` steps; return the weights with the best validation mIoU."""
    dev = device_of(cfg.device)
    model.to(dev)
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    evals = set(range(cfg.eval_every, cfg.steps, cfg.eval_every)) if cfg.eval_every else set()
    evals.add(cfg.steps)
    best, best_state, best_step, history = -1.0, None, 0, []
    start, running, since = time.perf_counter(), 0.0, 0
    for step in range(1, cfg.steps + 1):
        model.train()
        for group in opt.param_groups:
            group["lr"] = cfg.lr * lr_at(step - 1, cfg.steps, cfg.warmup)
        images, masks = augmented_batch(
            train, rng.integers(0, len(train), cfg.batch_size), transform
        )
        target = torch.from_numpy(masks).to(dev).long()
        loss = seg_loss(model(to_input(images, *norm, dev)), target, cfg.dice_weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running, since = running + loss.item(), since + 1
        if step in evals:
            cm, _ = score(model, *val, norm, cfg.eval_batch_size, len(names))
            miou = summary(cm, names)["miou"]
            history.append({"step": step, "loss": running / since, "val_miou": miou})
            running, since = 0.0, 0
            if miou > best:
                best, best_step = miou, step
                best_state = copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    return TrainReport(model, best, best_step, time.perf_counter() - start, history)
