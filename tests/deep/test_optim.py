"""s3.optim: Momentum and AdamW step for step against torch.optim (float64), LARS and
Lookahead against their papers' equations by hand, and deliberately wrong variants failing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from ai_roadmap.checks import CheckRecord
from ai_roadmap.deep import optim_checks as oc
from ai_roadmap.deep.optim import LARS, AdamW, Lookahead, Momentum

TORCH_HYPER: dict[str, dict[str, Any]] = {
    "sgd_torch": {"lr": 0.05, "weight_decay": 1e-3},
    "heavy_ball_torch": {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3},
    "nesterov_torch": {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3, "nesterov": True},
    "adamw_torch": {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.05},
    "amsgrad_torch": {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05, "amsgrad": True},
}


pytestmark = [
    pytest.mark.reference,
    pytest.mark.usefixtures("one_torch_thread"),
]  # tiny tensors: threads only sync


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


# ---------------------------------------------------------------- Momentum and AdamW vs torch


@pytest.mark.parametrize("name", list(TORCH_HYPER))
def test_matches_torch_step_for_step(name: str) -> None:
    ours, reference = oc.TORCH_CASES[name]
    rec = oc.check_torch_match(name, ours, reference, TORCH_HYPER[name], rng(), steps=150)
    assert rec.passed, rec
    assert rec.error < 1e-12  # float64: only rounding separates the two


def test_nesterov_computed_as_heavy_ball_is_detected() -> None:
    def heavy_ball(groups: Any, **hyper: Any) -> Momentum:
        return Momentum(groups, **{**hyper, "nesterov": False})

    hyper = TORCH_HYPER["nesterov_torch"]
    rec = oc.check_torch_match("nesterov_torch", heavy_ball, torch.optim.SGD, hyper, rng())
    assert_detected(rec)


def test_adam_with_l2_penalty_is_not_adamw() -> None:
    # torch.optim.Adam adds λθ to the gradient (coupled decay): it must fail against AdamW
    rec = oc.check_torch_match(
        "adamw_torch", torch.optim.Adam, torch.optim.AdamW, TORCH_HYPER["adamw_torch"], rng()
    )
    assert_detected(rec)


def test_heavy_ball_ignoring_dampening_is_detected() -> None:
    def undamped(groups: Any, **hyper: Any) -> Momentum:
        return Momentum(groups, **{**hyper, "dampening": 0.0})

    hyper = TORCH_HYPER["heavy_ball_torch"]
    assert_detected(oc.check_torch_match("hb", undamped, torch.optim.SGD, hyper, rng()))


def test_first_step_of_momentum_is_a_plain_gradient_step() -> None:
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = Momentum([w], lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.5)
    w.grad = torch.tensor([0.4, 0.2], dtype=torch.float64)
    opt.step()  # g = grad + 0.5 w = [0.9, -0.8]; b = g (undamped); w − 0.1 g
    torch.testing.assert_close(w.detach(), torch.tensor([0.91, -1.92], dtype=torch.float64))


def test_nesterov_needs_momentum_and_no_dampening() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match="Nesterov"):
        Momentum(params, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov"):
        Momentum(params, lr=0.1, nesterov=True)


def test_closure_returns_the_loss() -> None:
    w = torch.nn.Parameter(torch.tensor([3.0], dtype=torch.float64))
    opt = AdamW([w], lr=0.1)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure).detach()) == pytest.approx(9.0)
    assert float(w.detach()) < 3.0


# ---------------------------------------------------------------- LARS


def test_lars_trust_ratio_and_update_on_numbers_worked_by_hand() -> None:
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0], dtype=torch.float64))  # ||w|| = 5
    opt = LARS([w], lr=0.9, momentum=0.5, weight_decay=0.5, trust_coefficient=0.1, eps=0.0)
    w.grad = torch.tensor([0.0, 2.0], dtype=torch.float64)  # ||g|| = 2
    opt.step()
    # λ = 0.1·5 / (2 + 0.5·5) = 1/9; v = 0.9·(1/9)·(g + 0.5 w) = 0.1·[1.5, 4]; w − v
    assert opt.state[w]["trust_ratio"] == pytest.approx(1 / 9, rel=1e-15)
    torch.testing.assert_close(w.detach(), torch.tensor([2.85, 3.6], dtype=torch.float64))
    w.grad = torch.tensor([0.0, 0.0], dtype=torch.float64)
    opt.step()  # ||g|| = 0: λ = 1, v = 0.5 v + 0.9·0.5 w
    before, velocity = np.array([2.85, 3.6]), np.array([0.15, 0.4])
    expected = before - (0.5 * velocity + 0.45 * before)
    assert opt.state[w]["trust_ratio"] == 1.0
    torch.testing.assert_close(w.detach(), torch.from_numpy(expected))


def test_lars_matches_hand_computation() -> None:
    rec = oc.check_lars_hand(rng(), steps=3)
    assert rec.passed, rec


def test_lars_without_weight_decay_in_the_trust_ratio_is_detected() -> None:
    class NoDecayInRatio(LARS):
        @staticmethod
        def trust_ratio(w, g, coefficient, weight_decay, eps):  # β||w|| dropped
            return LARS.trust_ratio(w, g, coefficient, 0.0, eps)

    assert_detected(oc.check_lars_hand(rng(), lars=NoDecayInRatio))


def test_lars_without_the_trust_ratio_is_detected() -> None:
    def sgd(params: Any, lr: float, momentum: float, weight_decay: float, **_: Any) -> Momentum:
        return Momentum(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    assert_detected(oc.check_lars_hand(rng(), lars=sgd))


def test_lars_excludes_1d_tensors_when_asked() -> None:
    w = torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    opt = LARS([w, b], lr=0.1, momentum=0.0, weight_decay=0.1, exclude_1d=True)
    w.grad, b.grad = torch.ones(2, 2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    opt.step()
    assert opt.state[b]["trust_ratio"] == 1.0 and opt.state[w]["trust_ratio"] < 1.0
    torch.testing.assert_close(b.detach(), torch.full((2,), 0.9, dtype=torch.float64))


# ---------------------------------------------------------------- Lookahead


def test_lookahead_matches_hand_unrolled_computation() -> None:
    rec = oc.check_lookahead_hand(rng())
    assert rec.passed, rec


def test_lookahead_that_never_resets_the_fast_weights_is_detected() -> None:
    class NoReset(Lookahead):
        @torch.no_grad()
        def step(self, closure=None):
            loss = self.inner.step(closure)
            self.fast_steps += 1
            if self.fast_steps % self.k == 0:
                for group in self.param_groups:
                    for p in group["params"]:
                        slow = self.state[p]["slow"]
                        slow.add_(p - slow, alpha=self.alpha)  # θ ← φ forgotten
            return loss

    assert_detected(oc.check_lookahead_hand(rng(), lookahead=NoReset))


def _train(make: Any, steps: int) -> list[torch.Tensor]:
    model = oc.small_mlp(3)
    x, y = torch.randn(32, 6, dtype=torch.float64), torch.randn(32, 3, dtype=torch.float64)
    opt = make(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


def test_lookahead_with_alpha_one_is_the_inner_optimiser() -> None:
    torch.manual_seed(0)
    plain = _train(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), 12)
    torch.manual_seed(0)
    wrapped = _train(lambda p: Lookahead(torch.optim.SGD(p, lr=0.1, momentum=0.9), 4, 1.0), 12)
    for a, b in zip(plain, wrapped, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


def test_lookahead_with_alpha_zero_returns_to_the_start_every_k_steps() -> None:
    start = [p.detach().clone() for p in oc.small_mlp(3).parameters()]
    torch.manual_seed(0)
    after = _train(lambda p: Lookahead(torch.optim.Adam(p, lr=0.05), k=3, alpha=0.0), 6)
    for a, b in zip(start, after, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_lookahead_rejects_bad_settings() -> None:
    inner = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError):
        Lookahead(inner, k=0)
    with pytest.raises(ValueError):
        Lookahead(inner, alpha=1.5)
