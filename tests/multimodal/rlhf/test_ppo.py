"""The PPO formulas against direct computations of their definitions, in float64."""

from __future__ import annotations

import torch

from ai_roadmap.multimodal.rlhf.ppo import gae, kl_shaped_rewards, masked_mean, ppo_losses, whiten


def _mask(lengths: list[int], width: int, start: int = 2) -> torch.Tensor:
    mask = torch.zeros(len(lengths), width, dtype=torch.float64)
    for i, n in enumerate(lengths):
        mask[i, start : start + n] = 1
    return mask


def test_gae_equals_the_discounted_sum_of_td_errors() -> None:
    """Â_t = Σ_l (γλ)^l δ_{t+l} with V = 0 after the episode's last token."""
    gen = torch.Generator().manual_seed(0)
    mask = _mask([5, 3, 7], 10)
    rewards = torch.randn(3, 10, generator=gen, dtype=torch.float64) * mask
    values = torch.randn(3, 10, generator=gen, dtype=torch.float64) * mask
    gamma, lam = 0.97, 0.9
    adv, ret = gae(rewards, values, mask, gamma, lam)
    for b in range(3):
        steps = mask[b].nonzero().flatten().tolist()
        v = [float(values[b, t]) for t in steps] + [0.0]
        deltas = [float(rewards[b, t]) + gamma * v[k + 1] - v[k] for k, t in enumerate(steps)]
        for k, t in enumerate(steps):
            want = sum((gamma * lam) ** j * d for j, d in enumerate(deltas[k:]))
            assert abs(float(adv[b, t]) - want) < 1e-12
            assert abs(float(ret[b, t]) - (want + v[k])) < 1e-12
    assert float((adv * (1 - mask)).abs().max()) == 0.0


def test_the_kl_penalty_is_per_token_and_the_score_lands_on_the_last_token() -> None:
    mask = _mask([3, 1], 6)
    logp = torch.full((2, 6), -1.0, dtype=torch.float64)
    ref = torch.full((2, 6), -1.5, dtype=torch.float64)
    rewards = kl_shaped_rewards(
        torch.tensor([2.0, -1.0], dtype=torch.float64), logp, ref, mask, 0.1
    )
    expected = -0.1 * 0.5 * mask
    expected[0, 4] += 2.0
    expected[1, 2] += -1.0
    torch.testing.assert_close(rewards, expected)


def test_whitened_advantages_have_zero_mean_and_unit_variance_on_the_mask() -> None:
    mask = _mask([4, 2], 8)
    x = torch.randn(2, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = whiten(x, mask)
    assert abs(float(masked_mean(w, mask))) < 1e-12
    assert abs(float(masked_mean(w**2, mask)) - 1) < 1e-6


def test_the_clipped_surrogate_matches_its_definition_and_stops_the_gradient() -> None:
    mask = _mask([3], 5, start=1)
    old = torch.log(torch.full((1, 5), 0.5, dtype=torch.float64))
    adv = torch.tensor([[0.0, 1.0, -1.0, 1.0, 0.0]], dtype=torch.float64)
    # ratios 1.5 (A > 0: clipped to 1.2), 0.5 (A < 0: clipped to 0.8), 1.1 (inside)
    new = old + torch.log(torch.tensor([[1.0, 1.5, 0.5, 1.1, 1.0]], dtype=torch.float64))
    new.requires_grad_(True)
    v = torch.zeros(1, 5, dtype=torch.float64)
    parts = ppo_losses(new, old, adv, v, v, v, mask, clip=0.2)
    want = -(1.2 * 1.0 + 0.8 * -1.0 + 1.1 * 1.0) / 3
    assert abs(float(parts.policy.detach()) - want) < 1e-12
    parts.policy.backward()
    assert new.grad is not None
    assert float(new.grad[0, 1]) == 0.0 and float(new.grad[0, 2]) == 0.0  # clipped
    assert abs(float(new.grad[0, 3]) - (-1.1 / 3)) < 1e-12  # d(−ρA/3)/d log π = −ρA/3
    assert abs(parts.clip_fraction - 2 / 3) < 1e-12


def test_the_value_loss_takes_the_larger_of_clipped_and_unclipped_errors() -> None:
    mask = torch.ones(1, 2, dtype=torch.float64)
    old = torch.zeros(1, 2, dtype=torch.float64)
    new = torch.tensor([[1.0, 0.1]], dtype=torch.float64)
    ret = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    parts = ppo_losses(old, old, old, new, old, ret, mask, clip_value=0.2)
    # token 0: unclipped 0, clipped (0.2 − 1)² = 0.64; token 1: 0.81 vs 0.81
    assert abs(float(parts.value) - 0.5 * (0.64 + 0.81) / 2) < 1e-12
