"""Training ε_θ: the DDPM objective, and DreamBooth's with prior preservation.

DDPM (Ho et al. 2020, "simple" loss): draw t ~ U{0…T−1}, ε ~ N(0, I), form
x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (:func:`.noise.q_sample`) and minimise
L = E ‖ε − ε_θ(x_t, t, y)‖².

DreamBooth (Ruiz et al. 2023, eq. 2) fine-tunes every weight on the subject's few images
under the rare identifier [V], and keeps the class from drifting with a second term on
images the *frozen base model* generated for the class label:

    L = E ‖ε − ε_θ(x_t, t, [V])‖² + λ E ‖ε' − ε_θ(x'_t', t', c_class)‖²

Without the second term (λ = 0) the model forgets what the class looks like ("language
drift") and its class samples collapse towards the subject.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.multimodal.diffusion.noise import alphas_cumprod, q_sample


@dataclass(frozen=True)
class Schedule:
    """The forward process: T steps of linearly rising β (DDPM's values)."""

    timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02

    def alphas_cumprod(self) -> torch.Tensor:
        return alphas_cumprod(self.timesteps, self.beta_start, self.beta_end)


@dataclass(frozen=True)
class Optim:
    """AdamW with a linear warm-up, then cosine decay to zero."""

    steps: int = 600
    batch_size: int = 32  # images per step (DreamBooth: subject images; as many prior images)
    lr: float = 1e-3
    warmup: int = 50
    weight_decay: float = 0.0
    flip: bool = True  # random horizontal flips


@dataclass
class TrainLog:
    """Loss per step (the subject term for DreamBooth), the prior term, and time."""

    losses: list[float] = field(default_factory=list)
    prior_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(1, len(self.losses))

    def final(self, window: int = 50) -> float:
        """Mean loss of the last ``window`` steps (a single batch's loss is noisy)."""
        tail = self.losses[-window:]
        return sum(tail) / max(1, len(tail))


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [−1, 1], the range the forward process assumes."""
    return images * 2.0 - 1.0


def denoising_loss(
    model: nn.Module, x0: torch.Tensor, labels: torch.Tensor, abar: torch.Tensor
) -> torch.Tensor:
    """‖ε − ε_θ(x_t, t, y)‖² averaged over the batch, t and ε drawn afresh."""
    t = torch.randint(0, len(abar), (x0.shape[0],), device=x0.device)
    noise = torch.randn_like(x0)
    return F.mse_loss(model(q_sample(x0, noise, t, abar), t, labels), noise)


def _batch(
    images: torch.Tensor, labels: torch.Tensor, size: int, flip: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch (with replacement when there are fewer images than ``size``)."""
    n = images.shape[0]
    index = torch.randperm(n)[:size] if n >= size else torch.randint(0, n, (size,))
    x = images[index]
    if flip:
        mirror = torch.rand(size) < 0.5
        x = torch.where(mirror.to(x.device)[:, None, None, None], x.flip(-1), x)
    return x, labels[index]


def _lr_at(step: int, o: Optim) -> float:
    if step < o.warmup:
        return o.lr * (step + 1) / o.warmup
    progress = (step - o.warmup) / max(1, o.steps - o.warmup)
    return o.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def _fit(
    model: nn.Module, o: Optim, step_loss: Callable[[], tuple[torch.Tensor, float]]
) -> TrainLog:
    """The loop shared by both objectives: ``step_loss`` returns (loss, prior term)."""
    optimiser = torch.optim.AdamW(model.parameters(), lr=o.lr, weight_decay=o.weight_decay)
    log = TrainLog()
    model.train()
    started = time.perf_counter()
    for step in range(o.steps):
        for group in optimiser.param_groups:
            group["lr"] = _lr_at(step, o)
        loss, prior = step_loss()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        log.losses.append(float(loss.detach()) - prior)
        log.prior_losses.append(prior)
    log.seconds = time.perf_counter() - started
    model.eval()
    return log


def train_base(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, o: Optim, schedule: Schedule
) -> TrainLog:
    """The DDPM objective on class-labelled images (N, 3, S, S) in [0, 1]."""
    device = next(model.parameters()).device
    x_all, y_all = to_model_range(images).to(device), labels.to(device)
    abar = schedule.alphas_cumprod().to(device)

    def step_loss() -> tuple[torch.Tensor, float]:
        x, y = _batch(x_all, y_all, o.batch_size, o.flip)
        return denoising_loss(model, x, y, abar), 0.0

    return _fit(model, o, step_loss)


def train_dreambooth(
    model: nn.Module,
    subject: torch.Tensor,
    subject_label: int,
    prior: torch.Tensor,
    prior_label: int,
    prior_weight: float,
    o: Optim,
    schedule: Schedule,
) -> TrainLog:
    """DreamBooth: subject images under ``subject_label`` + λ × the prior term (λ = 0: none)."""
    device = next(model.parameters()).device
    xs = to_model_range(subject).to(device)
    xp = to_model_range(prior).to(device)
    ys = torch.full((xs.shape[0],), subject_label, dtype=torch.long, device=device)
    yp = torch.full((xp.shape[0],), prior_label, dtype=torch.long, device=device)
    abar = schedule.alphas_cumprod().to(device)

    def step_loss() -> tuple[torch.Tensor, float]:
        x, y = _batch(xs, ys, o.batch_size, o.flip)
        loss = denoising_loss(model, x, y, abar)
        if prior_weight <= 0:
            return loss, 0.0
        x, y = _batch(xp, yp, o.batch_size, o.flip)
        prior_term = prior_weight * denoising_loss(model, x, y, abar)
        return loss + prior_term, float(prior_term.detach())

    return _fit(model, o, step_loss)
