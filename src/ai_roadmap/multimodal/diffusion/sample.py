"""Sampling through ``diffusers``' schedulers, the DDIM cross-check, and image grids.

DDPM ancestral sampling (Ho et al. 2020, Alg. 2) draws x_{t−1} ~ p_θ(x_{t−1} | x_t) with
fresh noise at every step; DDIM (η = 0) takes the deterministic update of
:func:`.noise.ddim_step` on a subsequence of timesteps, so 25–50 steps stand in for
T = 1000. Both come from ``diffusers`` here; :func:`ddim_agreement` runs our written-out
update beside ``DDIMScheduler.step`` on the same model outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ai_roadmap.multimodal.diffusion.noise import ddim_step
from ai_roadmap.multimodal.diffusion.train import Schedule
from ai_roadmap.multimodal.diffusion.unet import ClassConditionalUNet

SAMPLERS = ("ddim", "ddpm")


@dataclass(frozen=True)
class Sampler:
    """Which scheduler samples and in how many steps."""

    kind: str = "ddpm"  # ddim | ddpm
    steps: int = 100
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.kind not in SAMPLERS:
            raise ValueError(f"sampler.kind must be one of {', '.join(SAMPLERS)}")
        if self.steps < 1:
            raise ValueError("sampler.steps must be ≥ 1")


def scheduler(sampler: Sampler, schedule: Schedule) -> Any:
    """The ``diffusers`` scheduler of ``sampler`` on our β schedule, images clipped to [−1, 1]."""
    from diffusers import DDIMScheduler, DDPMScheduler

    common = dict(
        num_train_timesteps=schedule.timesteps,
        beta_start=schedule.beta_start,
        beta_end=schedule.beta_end,
        beta_schedule="linear",
        clip_sample=True,
    )
    if sampler.kind == "ddim":
        made: Any = DDIMScheduler(**common, set_alpha_to_one=True)
    else:
        made = DDPMScheduler(**common)
    made.set_timesteps(sampler.steps)
    return made


@torch.no_grad()
def generate(
    model: ClassConditionalUNet,
    labels: torch.Tensor,
    sampler: Sampler,
    schedule: Schedule,
    seed: int,
) -> torch.Tensor:
    """Images (B, 3, S, S) in [0, 1] for class labels (B,), in batches of ``batch_size``."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    size = model.cfg.size
    model.eval()
    out = []
    for chunk in labels.split(sampler.batch_size):
        sched = scheduler(sampler, schedule)
        x = torch.randn((len(chunk), 3, size, size), generator=generator).to(device)
        y = chunk.to(device)
        for t in sched.timesteps:
            eps = model(x, t.expand(len(chunk)).to(device), y)
            x = sched.step(eps, t, x, generator=generator).prev_sample
        out.append(((x.clamp(-1, 1) + 1) / 2).cpu())
    return torch.cat(out)


@torch.no_grad()
def ddim_agreement(
    model: ClassConditionalUNet, labels: torch.Tensor, steps: int, schedule: Schedule, seed: int
) -> float:
    """Max |Δ| between ``DDIMScheduler.step`` and :func:`.noise.ddim_step` along a trajectory.

    At every step both updates are applied to the same x_t and the same ε_θ(x_t); the
    trajectory follows the library's result.
    """
    device = next(model.parameters()).device
    sched = scheduler(Sampler("ddim", steps), schedule)
    abar = schedule.alphas_cumprod()
    size = model.cfg.size
    x = torch.randn((len(labels), 3, size, size), generator=torch.Generator().manual_seed(seed))
    x, y = x.to(device), labels.to(device)
    times = [int(t) for t in sched.timesteps]
    worst = 0.0
    for i, t in enumerate(times):
        eps = model(x, torch.full((len(y),), t, device=device), y)
        library = sched.step(eps, t, x).prev_sample
        t_prev = times[i + 1] if i + 1 < len(times) else -1
        ours = ddim_step(eps.double(), t, t_prev, x.double(), abar)
        worst = max(worst, float((ours - library.double()).abs().max()))
        x = library
    return worst


def save_grid(images: torch.Tensor, path: Path, columns: int = 8, scale: int = 3) -> Path:
    """Images (N, 3, S, S) in [0, 1] tiled row-major into one PNG, each pixel ``scale``× larger."""
    import cv2

    n, _, s, _ = images.shape
    rows = -(-n // columns)
    canvas = np.ones((rows * (s + 2), columns * (s + 2), 3), np.float32)
    pictures = images.clamp(0, 1).permute(0, 2, 3, 1).numpy()  # (N, 3, S, S) -> (N, S, S, 3)
    for k in range(n):
        r, c = divmod(k, columns)
        canvas[r * (s + 2) + 1 : r * (s + 2) + 1 + s, c * (s + 2) + 1 : c * (s + 2) + 1 + s] = (
            pictures[k]
        )
    big = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    bgr = cv2.cvtColor((big * 255).round().astype(np.uint8), cv2.COLOR_RGB2BGR)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), bgr):
        raise OSError(f"could not write {path}")
    return path
