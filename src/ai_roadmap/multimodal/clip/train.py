"""Training dual encoders on image–caption pairs with symmetric InfoNCE.

One or more dual encoders (one per text tower) train together, on the same batches;
they may share the image tower's convolutional trunk (:func:`share_image_features`),
each keeping its own image projection, text tower and temperature, so the trunk — the
costly part — runs once per step for all of them. Each step draws a batch of training
stamps, augments their images (:func:`.augment.augment_images`) and draws one wording
of each caption (:func:`.augment.caption_variants`; in Chinese with probability
``zh_fraction`` when the stamp has a Chinese caption and the text tower reads Chinese),
then minimises the sum of the models' :func:`.loss.info_nce` with AdamW under a
linear-warmup cosine schedule, clamping each logit scale after every step as open_clip
does. The frozen MiniLM tower's sentence vectors of every wording are computed once
before the first step.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from ai_roadmap.multimodal.clip.augment import (
    ImageAugment,
    augment_images,
    caption_variants,
    flippable,
    on_white,
)
from ai_roadmap.multimodal.clip.loss import info_nce
from ai_roadmap.multimodal.clip.minilm import MiniLMTower, sentence_vectors
from ai_roadmap.multimodal.clip.model import DualEncoder
from ai_roadmap.multimodal.clip.pairs import Pair


@dataclass(frozen=True)
class TrainConfig:
    """Steps, optimiser and where it runs."""

    epochs: int = 60
    batch_size: int = 128
    lr: float = 2e-3  # AdamW peak learning rate
    weight_decay: float = 0.05  # on weight matrices and filters only
    warmup_fraction: float = 0.1
    zh_fraction: float = 0.5  # P(a caption is drawn in Chinese) where one exists (hash tower)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # bf16 autocast: CPU AVX-512 BF16, GPU
    progress: bool = True  # one line on stderr every tenth of the epochs
    augment: ImageAugment = field(default_factory=ImageAugment)


@dataclass
class TrainReport:
    """The trained models (one per text tower) and how training went."""

    models: list[DualEncoder]
    seconds: float
    steps: int
    images_per_second: float
    history: list[dict[str, float]]  # per epoch: loss_<tower>, logit_scale_<tower>


def pick_device(name: str) -> torch.device:
    from ai_roadmap.training.device import resolve_device

    return torch.device(resolve_device(name))


def pick_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast where the hardware has it natively, else full precision."""
    from ai_roadmap.training.hardware import cpu_has_native_bf16

    if precision == "fp32":
        return None
    if precision == "bf16" or device.type == "cuda" or cpu_has_native_bf16():
        return torch.bfloat16
    return None


class TextDraw:
    """Draws one wording per stamp and encodes a batch of them with the model's text tower."""

    def __init__(self, model: DualEncoder, pairs: Sequence[Pair], zh_fraction: float) -> None:
        self.minilm = isinstance(model.text_tower, MiniLMTower)
        self.en = [caption_variants(p, "en") for p in pairs]
        self.zh = [[] if self.minilm else caption_variants(p, "zh") for p in pairs]
        self.zh_fraction = zh_fraction
        self.rows: dict[str, int] = {}
        self.vectors = torch.zeros(0)
        if self.minilm:  # the frozen encoder: every wording's vector, once
            texts = sorted({t for vs in self.en for t in vs})
            self.rows = {t: i for i, t in enumerate(texts)}
            self.vectors = sentence_vectors(texts, model.cfg.minilm.max_length)

    def draw(self, idx: Sequence[int], g: torch.Generator) -> list[str]:
        out = []
        for i in idx:
            use_zh = bool(self.zh[i]) and float(torch.rand(1, generator=g)) < self.zh_fraction
            options = self.zh[i] if use_zh else self.en[i]
            out.append(options[int(torch.randint(len(options), (1,), generator=g))])
        return out

    def encode(self, model: DualEncoder, texts: list[str]) -> torch.Tensor:
        """(B, dim) unnormalised text features."""
        if self.minilm:
            assert isinstance(model.text_tower, MiniLMTower)
            rows = torch.tensor([self.rows[t] for t in texts])
            device = next(model.parameters()).device
            return model.text_tower.encode_vectors(self.vectors[rows].to(device))
        return model.text_tower(texts)


def optimiser(
    models: Sequence[DualEncoder], cfg: TrainConfig, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (decay on ≥ 2-d weights; shared ones once) and linear warmup then cosine to 0."""
    params = list({id(p): p for m in models for p in m.parameters() if p.requires_grad}.values())
    decay = [p for p in params if p.ndim >= 2]
    rest = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
    )
    warmup = max(1, round(cfg.warmup_fraction * steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def share_image_features(models: Sequence[DualEncoder]) -> None:
    """Let every model use the first one's convolutional trunk (each keeps its projection)."""
    for m in models[1:]:
        m.image_tower.features = models[0].image_tower.features


def step_losses(
    models: Sequence[DualEncoder],
    draws: Sequence[TextDraw],
    images: torch.Tensor,
    texts: list[list[str]],
) -> list[torch.Tensor]:
    """InfoNCE of each model on the batch; a shared trunk is run once."""
    shared = all(m.image_tower.features is models[0].image_tower.features for m in models)
    pooled = models[0].image_tower.pooled(images) if shared else None
    losses = []
    for m, draw, batch in zip(models, draws, texts, strict=True):
        feats = pooled if pooled is not None else m.image_tower.pooled(images)
        u = F.normalize(m.image_tower.proj(feats).float(), dim=-1)
        v = F.normalize(draw.encode(m, batch).float(), dim=-1)
        losses.append(info_nce(m.logit_scale() * u @ v.T))
    return losses


def train_clip(
    models: Sequence[DualEncoder],
    pixels: torch.Tensor,
    pairs: Sequence[Pair],
    cfg: TrainConfig,
    seed: int,
) -> TrainReport:
    """Train the models together on stamps ``pixels`` (N, 4, S, S) uint8 and their ``pairs``.

    Each step shows every model the same augmented images; the summed losses are
    minimised by one optimiser (a trunk shared by :func:`share_image_features` gets the
    gradients of all text towers).
    """
    device = pick_device(cfg.device)
    dtype = pick_dtype(cfg.precision, device)
    g = torch.Generator().manual_seed(seed)
    draws = [TextDraw(m, pairs, cfg.zh_fraction) for m in models]
    may_flip = flippable(list(pairs), cfg.augment)
    n, size = len(pairs), models[0].image_size
    per_epoch = max(1, n // cfg.batch_size)  # the last partial batch is dropped
    steps = per_epoch * cfg.epochs
    for m in models:
        m.to(device).train()
        # channels-last convolutions are faster on CPU (bf16) and GPU
        m.image_tower.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    opt, schedule = optimiser(models, cfg, steps)
    names = [m.cfg.text_tower for m in models]
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        order = torch.randperm(n, generator=g)
        sums = [0.0] * len(models)
        for b in range(per_epoch):
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size].tolist()
            images = augment_images(pixels[idx], may_flip[idx], size, cfg.augment, g)
            images = images.to(device).contiguous(memory_format=torch.channels_last)
            texts = [d.draw(idx, g) for d in draws]
            with torch.autocast(
                device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            ):
                losses = step_losses(models, draws, images, texts)
            opt.zero_grad(set_to_none=True)
            sum(losses, torch.zeros((), device=device)).backward()
            opt.step()
            schedule.step()
            for i, (m, loss) in enumerate(zip(models, losses, strict=True)):
                m.logit_scale.clamp_()
                sums[i] += float(loss.detach())
        row: dict[str, float] = {"epoch": float(epoch + 1)}
        for name, m, total in zip(names, models, sums, strict=True):
            row[f"loss_{name}"] = total / per_epoch
            row[f"logit_scale_{name}"] = float(m.logit_scale().detach())
        history.append(row)
        if cfg.progress and (epoch + 1) % max(1, cfg.epochs // 10) == 0:
            losses_text = " ".join(f"{k} {v:.3f}" for k, v in row.items() if k.startswith("loss"))
            elapsed = time.perf_counter() - start
            print(
                f"epoch {epoch + 1}/{cfg.epochs}: {losses_text} ({elapsed:.0f} s)", file=sys.stderr
            )
    seconds = time.perf_counter() - start
    for m in models:
        m.eval()
    return TrainReport(
        list(models), seconds, steps, steps * cfg.batch_size / max(seconds, 1e-9), history
    )


@torch.no_grad()
def embed_images(model: DualEncoder, pixels: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """(N, dim) unit embeddings of stamps pasted on white (the evaluation view), on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    out = [
        model.encode_images(on_white(pixels[i : i + batch], model.image_size).to(device)).cpu()
        for i in range(0, pixels.shape[0], batch)
    ]
    return torch.cat(out)


@torch.no_grad()
def embed_texts(model: DualEncoder, texts: Sequence[str], batch: int = 256) -> torch.Tensor:
    """(M, dim) unit embeddings of texts, on the CPU."""
    model.eval()
    out = [
        model.encode_texts(list(texts[i : i + batch])).cpu() for i in range(0, len(texts), batch)
    ]
    return torch.cat(out) if out else torch.zeros(0, model.cfg.dim)
