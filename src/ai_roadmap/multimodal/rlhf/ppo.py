"""The PPO math, shared by the toy bandit and the language model: one function per formula.

Per-token reward with a KL penalty to the frozen reference (SFT) policy (Ziegler et al.
2019; InstructGPT):

    r_t = − β (log π_old(a_t|s_t) − log π_ref(a_t|s_t))  +  [t = T] · R(x, y)

Generalised advantage estimation (Schulman et al. 2016), over the completion's tokens:

    δ_t = r_t + γ V(s_{t+1}) − V(s_t),    Â_t = Σ_l (γλ)^l δ_{t+l},    R̂_t = Â_t + V(s_t)

Clipped surrogate (Schulman et al. 2017), ρ_t = π_θ(a_t|s_t) / π_old(a_t|s_t):

    L_π = − E_t min(ρ_t Â_t, clip(ρ_t, 1 − ε, 1 + ε) Â_t)

and the clipped value loss of the PPO implementations (OpenAI baselines, trlX):

    L_V = ½ E_t max((V_θ − R̂_t)², (clip(V_θ, V_old ± ε_V) − R̂_t)²)

Tensors are (B, T) with a 0/1 ``mask`` marking the completion's tokens; every mean is
over the masked tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp_min(1)


def whiten(x: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """(x − mean) / std over the masked entries (advantage normalisation)."""
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    out = (x - mean) * torch.rsqrt(var + 1e-8)
    return out if shift_mean else out + mean


def kl_shaped_rewards(
    score: torch.Tensor,
    logp: torch.Tensor,
    logp_ref: torch.Tensor,
    mask: torch.Tensor,
    beta: float,
) -> torch.Tensor:
    """r_t = −β (log π_old − log π_ref) on every token, plus ``score`` on the last one.

    ``score``: (B,); the others (B, T). The last token is the last masked position.
    """
    rewards = -beta * (logp - logp_ref) * mask
    last = (mask * torch.arange(mask.shape[1], device=mask.device)).argmax(1)  # (B,)
    rewards[torch.arange(len(score)), last] += score
    return rewards


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Â, R̂) by the backward recursion Â_t = δ_t + γλ m_{t+1} Â_{t+1}; zero off the mask."""
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[:, 0])
    next_adv = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        advantages[:, t] = (delta + gamma * lam * next_adv) * mask[:, t]
        next_value = values[:, t] * mask[:, t]
        next_adv = advantages[:, t]
    return advantages, (advantages + values) * mask


@dataclass
class LossParts:
    """The PPO losses of one minibatch and the diagnostics logged beside them."""

    policy: torch.Tensor
    value: torch.Tensor
    clip_fraction: float
    approx_kl: float  # E[(ρ − 1) − log ρ] (Schulman's low-variance estimator)


def ppo_losses(
    logp: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    values: torch.Tensor,
    values_old: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    clip: float = 0.2,
    clip_value: float = 0.2,
) -> LossParts:
    """L_π and L_V above, from the new and old log-probabilities and values."""
    log_ratio = (logp - logp_old) * mask
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip, 1 + clip) * advantages
    policy = -masked_mean(torch.min(unclipped, clipped), mask)
    v_clipped = values_old + torch.clamp(values - values_old, -clip_value, clip_value)
    value = 0.5 * masked_mean(torch.max((values - returns) ** 2, (v_clipped - returns) ** 2), mask)
    with torch.no_grad():
        frac = float(masked_mean(((ratio - 1).abs() > clip).float(), mask))
        approx_kl = float(masked_mean(ratio - 1 - log_ratio, mask))
    return LossParts(policy, value, frac, approx_kl)
