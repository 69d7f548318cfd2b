"""PPO on a K-armed bandit, where the KL-regularised optimum is known in closed form.

With reward r(a) and a penalty β KL(π ‖ π_ref), the objective

    J(π) = E_{a∼π} r(a) − β KL(π ‖ π_ref)

is maximised by π*(a) = π_ref(a) exp(r(a)/β) / Z (the Gibbs policy; Rafailov et al.
2023, eq. 4). The same PPO code as the language model's (:mod:`.ppo`) — KL-shaped reward,
GAE over a one-step episode, clipped surrogate, a learned value (here one scalar, since
the bandit has one state) — must drive a softmax policy to π*; as β → 0, π* puts its mass
on the best arm. This is the check that the PPO of this package optimises what it claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ai_roadmap.multimodal.rlhf.ppo import gae, kl_shaped_rewards, ppo_losses, whiten


def gibbs_optimum(rewards: torch.Tensor, reference: torch.Tensor, beta: float) -> torch.Tensor:
    """π* ∝ π_ref · exp(r / β)."""
    return torch.softmax(reference.log() + rewards / beta, 0)


@dataclass(frozen=True)
class BanditConfig:
    iterations: int = 300
    batch: int = 256  # pulls per iteration
    epochs: int = 4  # PPO epochs over each batch
    lr: float = 0.05  # Adam η for the logits and the value
    clip: float = 0.2
    noise: float = 0.1  # std of the Gaussian noise on each pull's reward


def ppo_bandit(
    rewards: Sequence[float], reference: Sequence[float], beta: float, c: BanditConfig, seed: int
) -> torch.Tensor:
    """The policy PPO reaches from π_ref on a bandit with mean rewards ``rewards``."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.tensor(rewards, dtype=torch.float64)
    ref_logp = torch.tensor(reference, dtype=torch.float64).log()
    logits = ref_logp.clone().requires_grad_(True)  # start at π_ref, as PPO starts at SFT
    value = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([logits, value], lr=c.lr)
    mask = torch.ones(c.batch, 1, dtype=torch.float64)
    for _ in range(c.iterations):
        with torch.no_grad():
            old = torch.log_softmax(logits, 0)
            arms = torch.multinomial(old.exp(), c.batch, replacement=True, generator=gen)
            pulled = r[arms] + c.noise * torch.randn(c.batch, generator=gen, dtype=r.dtype)
            logp_old = old[arms][:, None]  # (B, 1): one-token episodes
            shaped = kl_shaped_rewards(pulled, logp_old, ref_logp[arms][:, None], mask, beta)
            v_old = value.detach().expand(c.batch, 1)
            adv, returns = gae(shaped, v_old, mask, gamma=1.0, lam=1.0)
            adv = whiten(adv, mask)
        for _ in range(c.epochs):
            logp = torch.log_softmax(logits, 0)[arms][:, None]
            parts = ppo_losses(
                logp, logp_old, adv, value.expand(c.batch, 1), v_old, returns, mask, c.clip, 1e9
            )
            opt.zero_grad()
            (parts.policy + 0.5 * parts.value).backward()
            opt.step()
    return torch.softmax(logits.detach(), 0)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """½ Σ |p − q|."""
    return float(0.5 * (p - q).abs().sum())
