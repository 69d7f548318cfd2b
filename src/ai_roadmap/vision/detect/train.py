"""Training and inference for the detector: batches, AdamW + cosine, EMA, choose by val.

Images enter as float RGB in [0, 1], channels first (BatchNorm after the first
convolution does the centring). Targets are padded to the largest box count of the
batch with a mask. The weights that are evaluated and kept are an exponential moving
average of the trained ones (d = decay · (1 − e^(−step/τ)), the warm-up of the decay
keeps the average from being dominated by the random start); after each epoch the
average is scored on the validation split and the best epoch's weights are returned.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ai_roadmap.vision.detect.augment import Augment, augment
from ai_roadmap.vision.detect.loss import detection_loss
from ai_roadmap.vision.detect.model import Detector
from ai_roadmap.vision.detect.nms import postprocess

Targets = list[tuple[np.ndarray, np.ndarray]]  # per image: boxes (m, 4), labels (m,)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 32
    lr: float = 2e-3  # AdamW peak learning rate
    weight_decay: float = 5e-4
    warmup_fraction: float = 0.05  # of all steps, linear from 0
    ema_decay: float = 0.998
    ema_tau: float = 100.0  # steps over which the EMA decay ramps up
    flip: bool = True  # random horizontal flip of training images
    colour: float = 0.2  # random per-channel gain in [1 − c, 1 + c]
    zoom: float = 0.0  # random scale in [1 − zoom, 1 + zoom] (vision.detect.augment)
    shift: float = 0.0  # random translation, fraction of the side
    hue: float = 0.0  # HSV jitter: hue ± fraction of the circle
    saturation: float = 0.0  # saturation gain in [1 − s, 1 + s]
    value: float = 0.0  # value gain in [1 − v, 1 + v]
    cutout: float = 0.0  # probability of one grey rectangle per image
    object_hue: float = 0.0  # per-object hue shift (needs the scenes' instance maps)
    object_sv: float = 0.0  # per-object saturation/value gains in [1 − o, 1 + o]
    channels_last: bool = False
    seed: int = 0
    progress: bool = True


@dataclass
class FitReport:
    model: Detector
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_val: float = -1.0
    train_seconds: float = 0.0
    images_seen: int = 0


def to_input(images: np.ndarray, channels_last: bool = False) -> torch.Tensor:
    """(B, H, W, 3) uint8 → (B, 3, H, W) float in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x.contiguous()


def pad_targets(
    targets: Targets,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(labels (B, M), boxes (B, M, 4), mask (B, M)) padded to the largest count M."""
    m = max(1, max(len(t[1]) for t in targets))
    labels = torch.zeros(len(targets), m, dtype=torch.long)
    boxes = torch.zeros(len(targets), m, 4)
    mask = torch.zeros(len(targets), m, dtype=torch.bool)
    for i, (b, lab) in enumerate(targets):
        labels[i, : len(lab)] = torch.from_numpy(lab)
        boxes[i, : len(lab)] = torch.from_numpy(b)
        mask[i, : len(lab)] = True
    return labels, boxes, mask


def augmentation(cfg: TrainConfig) -> Augment:
    """The :class:`~ai_roadmap.vision.detect.augment.Augment` a training config asks for."""
    return Augment(
        flip=cfg.flip,
        zoom=cfg.zoom,
        shift=cfg.shift,
        hue=cfg.hue,
        saturation=cfg.saturation,
        value=cfg.value,
        colour=cfg.colour,
        cutout=cfg.cutout,
        object_hue=cfg.object_hue,
        object_sv=cfg.object_sv,
    )


class EMA:
    """Exponential moving average of a model's weights (BatchNorm buffers copied)."""

    def __init__(self, model: Detector, decay: float, tau: float) -> None:
        self.model: Detector = copy.deepcopy(model).eval()
        self.decay, self.tau, self.steps = decay, tau, 0
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        d = self.decay * (1 - math.exp(-self.steps / self.tau))
        for mine, theirs in zip(
            self.model.state_dict().values(), model.state_dict().values(), strict=True
        ):
            if mine.dtype.is_floating_point:
                mine.mul_(d).add_(theirs.detach(), alpha=1 - d)
            else:
                mine.copy_(theirs)


@torch.no_grad()
def predict(
    model: Detector,
    images: np.ndarray,
    conf: float = 0.001,
    iou: float = 0.6,
    batch_size: int = 32,
    channels_last: bool = False,
) -> list[np.ndarray]:
    """Detections per image, (n, 6): x1, y1, x2, y2, score, class."""
    model.eval()
    out: list[np.ndarray] = []
    for start in range(0, len(images), batch_size):
        boxes, probs = model.predict_raw(
            to_input(images[start : start + batch_size], channels_last)
        )
        out += [d.numpy() for d in postprocess(boxes, probs, conf, iou)]
    return out


def fit(
    model: Detector,
    images: np.ndarray,
    targets: Targets,
    cfg: TrainConfig,
    validate: Callable[[Detector], float],
    instances: np.ndarray | None = None,
) -> FitReport:
    """Train; keep the EMA weights of the epoch that scores best by ``validate``.

    ``instances`` (N, S, S), the scenes' instance maps, enable per-object colour jitter.
    """
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    steps_per_epoch = max(1, len(images) // cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
    )
    warm = max(1, int(cfg.warmup_fraction * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    )
    ema = EMA(model, cfg.ema_decay, cfg.ema_tau)
    aug = augmentation(cfg)
    report = FitReport(model=ema.model)
    best_state = copy.deepcopy(ema.model.state_dict())
    start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = rng.permutation(len(images))
        losses = []
        for step in range(steps_per_epoch):
            idx = np.sort(order[step * cfg.batch_size : (step + 1) * cfg.batch_size])
            batch, batch_targets = augment(
                images[idx],
                [targets[i] for i in idx],
                aug,
                rng,
                None if instances is None else instances[idx],
            )
            labels, boxes, mask = pad_targets(batch_targets)
            box_logits, cls_logits, shapes = model(to_input(batch, cfg.channels_last))
            loss, _ = detection_loss(
                box_logits, cls_logits, shapes, labels, boxes, mask, model.cfg.reg_max
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            schedule.step()
            ema.update(model)
            losses.append(float(loss.detach()))
            report.images_seen += len(idx)
        score = validate(ema.model)
        report.history.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_map50": score})
        if cfg.progress:
            print(
                f"epoch {epoch}/{cfg.epochs} loss {np.mean(losses):.3f} val mAP50 {score:.3f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
        if score > report.best_val:
            report.best_val, report.best_epoch = score, epoch
            best_state = copy.deepcopy(ema.model.state_dict())
    report.train_seconds = time.perf_counter() - start
    ema.model.load_state_dict(best_state)
    return report
