"""The written-out schedule, forward noising and DDIM step against diffusers' schedulers."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.multimodal.diffusion.noise import alphas_cumprod, ddim_step, q_sample

pytestmark = pytest.mark.reference


def test_schedule_and_noising_match_ddpm_scheduler() -> None:
    from diffusers import DDPMScheduler

    library = DDPMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02)
    abar = alphas_cumprod(1000, 1e-4, 0.02)
    torch.testing.assert_close(abar, library.alphas_cumprod.double(), atol=1e-6, rtol=0)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(6, 3, 8, 8, generator=generator) * 2 - 1
    noise = torch.randn(6, 3, 8, 8, generator=generator)
    t = torch.tensor([0, 1, 10, 250, 700, 999])
    ours = q_sample(x0, noise, t, abar)
    torch.testing.assert_close(ours, library.add_noise(x0, noise, t), atol=1e-5, rtol=0)
    # the closed form's two ends: x_0 almost untouched at t = 0, almost pure noise at T − 1
    assert (ours[0] - x0[0]).abs().max() < 0.05  # √(1 − ᾱ_0) = 0.01
    assert (ours[-1] - noise[-1]).abs().max() < 0.02


@pytest.mark.parametrize("clipped_eps", [False, True])
def test_ddim_step_matches_ddim_scheduler_along_a_trajectory(clipped_eps: bool) -> None:
    from diffusers import DDIMScheduler

    library = DDIMScheduler(
        num_train_timesteps=1000, clip_sample=True, set_alpha_to_one=True, beta_schedule="linear"
    )
    library.set_timesteps(20)
    abar = alphas_cumprod(1000)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(3, 3, 8, 8, generator=generator, dtype=torch.float64)
    times = [int(t) for t in library.timesteps]
    for i, t in enumerate(times):
        eps = 2.0 * torch.randn(x.shape, generator=generator, dtype=torch.float64)  # clipping acts
        expected = library.step(eps, t, x, use_clipped_model_output=clipped_eps).prev_sample
        t_prev = times[i + 1] if i + 1 < len(times) else -1
        ours = ddim_step(eps, t, t_prev, x, abar, clip=True, clipped_eps=clipped_eps)
        # the library keeps ᾱ in float32: agreement to its precision
        torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-5)
        x = expected


def test_ddim_step_without_clipping_inverts_the_forward_process() -> None:
    """With the true ε, one DDIM step to t' < 0 returns x_0 exactly (x̂_0 = x_0)."""
    abar = alphas_cumprod(1000)
    x0 = torch.rand(2, 3, 4, 4, dtype=torch.float64) * 4 - 2  # outside [−1, 1]: no clipping
    noise = torch.randn_like(x0)
    t = torch.tensor([600, 600])
    x_t = q_sample(x0, noise, t, abar)
    torch.testing.assert_close(ddim_step(noise, 600, -1, x_t, abar, clip=False), x0)
