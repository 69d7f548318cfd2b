"""PPO of this package reaches the known optimum of a bandit (π* ∝ π_ref·exp(r/β))."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.multimodal.rlhf.bandit import (
    BanditConfig,
    gibbs_optimum,
    ppo_bandit,
    total_variation,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

REWARDS = [1.0, 0.6, 0.3, 0.0]
REFERENCE = [0.1, 0.2, 0.3, 0.4]
FAST = BanditConfig(iterations=120, batch=256)


def test_the_gibbs_policy_maximises_the_kl_regularised_objective() -> None:
    """J(π) = E_π r − β KL(π‖π_ref) is larger at π* than at random other policies."""
    r, ref, beta = torch.tensor(REWARDS), torch.tensor(REFERENCE), 0.3

    def objective(p: torch.Tensor) -> float:
        return float((p * r).sum() - beta * (p * (p / ref).log()).sum())

    best = objective(gibbs_optimum(r, ref, beta))
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        other = torch.softmax(3 * torch.randn(4, generator=gen), 0)
        assert objective(other) <= best + 1e-6


@pytest.mark.parametrize("beta", [0.5, 0.2])
def test_ppo_reaches_the_kl_regularised_optimum(beta: float) -> None:
    r = torch.tensor(REWARDS, dtype=torch.float64)
    ref = torch.tensor(REFERENCE, dtype=torch.float64)
    reached = ppo_bandit(REWARDS, REFERENCE, beta, FAST, seed=0)
    assert total_variation(reached, gibbs_optimum(r, ref, beta)) < 0.05
    assert total_variation(reached, ref) > 0.2  # it moved: the start is far from π*


def test_ppo_with_a_tiny_kl_weight_picks_the_best_arm() -> None:
    reached = ppo_bandit(REWARDS, REFERENCE, 0.01, FAST, seed=1)
    assert float(reached[0]) > 0.95
