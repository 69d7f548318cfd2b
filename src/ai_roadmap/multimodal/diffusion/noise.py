"""The DDPM noise schedule, the forward process q(x_t | x_0) and the DDIM update, written out.

Ho et al. 2020 (DDPM): with β_1…β_T rising linearly from ``beta_start`` to ``beta_end``,
α_t = 1 − β_t and ᾱ_t = Π_{s≤t} α_s, the forward process has the closed form

    q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),  i.e.  x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε,  ε ~ N(0, I),

and the network ε_θ(x_t, t, y) is trained to recover ε (L = ‖ε − ε_θ‖²).

Song et al. 2021 (DDIM, η = 0): from x_t and the predicted ε, the predicted clean image is
x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ) / √ᾱ_t (clipped to [−1, 1] for images), and the
deterministic step to the previous timestep t' (ᾱ_{t'} = 1 for t' < 0) is

    x_{t'} = √ᾱ_{t'} x̂_0 + √(1 − ᾱ_{t'}) ε̂

with ε̂ = ε_θ (``diffusers``' default), or, with ``clipped_eps``, the noise consistent with
the clipped x̂_0: ε̂ = (x_t − √ᾱ_t x̂_0) / √(1 − ᾱ_t) (``use_clipped_model_output``).
``diffusers``' ``DDPMScheduler.add_noise`` and ``DDIMScheduler.step`` compute the same;
the tests and the milestone's checks compare them.
"""

from __future__ import annotations

import torch


def alphas_cumprod(steps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """ᾱ_t for t = 0…T−1 of the linear β schedule, float64 (T,)."""
    betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def _per_sample(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """values[t] shaped (B, 1, 1, 1) to broadcast over images, in ``like``'s dtype."""
    return values.to(like.device)[t].to(like.dtype).reshape(-1, *([1] * (like.ndim - 1)))


def q_sample(
    x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor, abar: torch.Tensor
) -> torch.Tensor:
    """x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε for a batch of timesteps t (B,)."""
    a = _per_sample(abar, t, x0)
    return a.sqrt() * x0 + (1.0 - a).sqrt() * noise


def ddim_step(
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    x_t: torch.Tensor,
    abar: torch.Tensor,
    clip: bool = True,
    clipped_eps: bool = False,
) -> torch.Tensor:
    """One deterministic DDIM update (η = 0) from timestep t to t_prev (< 0: to x_0)."""
    a_t = float(abar[t])
    a_prev = float(abar[t_prev]) if t_prev >= 0 else 1.0
    x0 = (x_t - (1.0 - a_t) ** 0.5 * eps) / a_t**0.5
    if clip:
        x0 = x0.clamp(-1.0, 1.0)
    if clip and clipped_eps:
        eps = (x_t - a_t**0.5 * x0) / (1.0 - a_t) ** 0.5
    return a_prev**0.5 * x0 + (1.0 - a_prev) ** 0.5 * eps
