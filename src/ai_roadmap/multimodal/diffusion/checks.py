"""Run-time reference checks: the written-out pieces against ``diffusers`` and ``scipy``.

Each run repeats, on its own model and images, what the tests check on fixed inputs:

* ``noising_vs_diffusers`` — :func:`.noise.q_sample` against ``DDPMScheduler.add_noise``
  at timesteps spread over [0, T);
* ``ddim_vs_diffusers`` — :func:`.noise.ddim_step` against ``DDIMScheduler.step`` along a
  trajectory of the trained model (:func:`.sample.ddim_agreement`);
* ``frechet_vs_sqrtm`` — :func:`.frechet.frechet_between` against the formula with
  ``scipy.linalg.sqrtm(Σ_A Σ_B)``, relative error, on the run's own features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.multimodal.diffusion.frechet import frechet_between
from ai_roadmap.multimodal.diffusion.noise import q_sample
from ai_roadmap.multimodal.diffusion.sample import ddim_agreement
from ai_roadmap.multimodal.diffusion.train import Schedule
from ai_roadmap.multimodal.diffusion.unet import ClassConditionalUNet


def frechet_by_sqrtm(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ_A − μ_B‖² + Tr(Σ_A + Σ_B − 2 sqrtm(Σ_A Σ_B)), as FID code usually writes it."""
    import scipy.linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def noising_error(images: torch.Tensor, schedule: Schedule, seed: int) -> float:
    """Max |Δ| of q_sample vs ``DDPMScheduler.add_noise`` on images (B, 3, S, S) in [0, 1]."""
    from diffusers import DDPMScheduler

    s = schedule
    library: Any = DDPMScheduler(s.timesteps, s.beta_start, s.beta_end, "linear")
    x0 = images * 2 - 1
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    t = torch.linspace(0, s.timesteps - 1, len(x0)).long()
    ours = q_sample(x0.double(), noise.double(), t, s.alphas_cumprod())
    return float((ours - library.add_noise(x0, noise, t).double()).abs().max())


def reference_checks(
    model: ClassConditionalUNet,
    labels: torch.Tensor,
    images: torch.Tensor,
    features: tuple[np.ndarray, np.ndarray],
    schedule: Schedule,
    ddim_steps: int,
    seed: int,
) -> list[CheckRecord]:
    """The three checks of the module docstring, as check records."""
    a, b = features
    direct = frechet_by_sqrtm(a, b)
    fd = abs(frechet_between(a, b) - direct) / max(1.0, abs(direct))
    ddim = ddim_agreement(model, labels, ddim_steps, schedule, seed)
    return [
        record(
            "noising_vs_diffusers",
            noising_error(images, schedule, seed),
            1e-5,
            "q_sample vs DDPMScheduler.add_noise",
        ),
        record("ddim_vs_diffusers", ddim, 1e-4, f"{ddim_steps}-step trajectory"),
        record("frechet_vs_sqrtm", fd, 1e-6, "relative, vs scipy.linalg.sqrtm(Σ_A Σ_B)"),
    ]
