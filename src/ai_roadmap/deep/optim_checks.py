"""Our optimisers checked against torch.optim and against their papers' equations by hand.

1. :func:`check_torch_match`: :class:`~ai_roadmap.deep.optim.Momentum` beside
   ``torch.optim.SGD`` and :class:`~ai_roadmap.deep.optim.AdamW` beside
   ``torch.optim.AdamW`` (:data:`TORCH_CASES`) — two copies of one float64 MLP, each
   stepped on its own gradients of the same mini-batches, with two parameter groups;
   error = max over steps and weights of |θ_ours − θ_torch|;
2. :func:`check_lars_hand`: :class:`~ai_roadmap.deep.optim.LARS` against Algorithm 1 of
   You et al. computed in NumPy — gradients by hand-written backprop, trust ratios
   λ = η||w|| / (||g|| + β||w||) and updates — for a 2-layer net, with and without
   excluding the biases;
3. :func:`check_lookahead_hand`: :class:`~ai_roadmap.deep.optim.Lookahead` around
   heavy-ball SGD against the same computation unrolled by hand (k fast steps,
   φ ← φ + α(θ − φ), θ ← φ), fast and slow weights compared after every step.

Each check takes the optimiser under test as an argument, so a deliberately wrong
variant can be shown to fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.deep.optim import LARS, AdamW, Lookahead, Momentum

OptimiserFactory = Callable[..., torch.optim.Optimizer]

# ---------------------------------------------------------------- step for step vs torch.optim


def small_mlp(seed: int, sizes: tuple[int, ...] = (6, 16, 3)) -> nn.Sequential:
    """A float64 tanh MLP whose initial weights depend only on ``seed``."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1]).double()


def two_groups(model: nn.Sequential, lr: float) -> list[dict[str, Any]]:
    """First layer at lr, the rest at lr / 2: the groups must be honoured separately."""
    first, rest = list(model[0].parameters()), list(model[1:].parameters())
    return [{"params": first}, {"params": rest, "lr": lr / 2}]


def check_torch_match(
    name: str,
    ours: OptimiserFactory,
    reference: OptimiserFactory,
    hyper: dict[str, Any],
    rng: np.random.Generator,
    steps: int = 200,
    batch_size: int = 16,
    tolerance: float = 1e-7,
) -> CheckRecord:
    """max over steps and weights of |θ_ours − θ_torch|, float64, same mini-batches.

    ``ours(groups, **hyper)`` and ``reference(groups, **hyper)`` take the same
    keyword arguments (our constructors mirror torch's).
    """
    x = torch.from_numpy(rng.standard_normal((256, 6)))
    y = torch.from_numpy(rng.standard_normal((256, 3)))
    seed = int(rng.integers(2**31))
    models = (small_mlp(seed), small_mlp(seed))
    optimisers = [
        make(two_groups(m, hyper["lr"]), **hyper)
        for make, m in zip((ours, reference), models, strict=True)
    ]
    worst = 0.0
    for _ in range(steps):
        batch = torch.from_numpy(rng.choice(len(x), batch_size, replace=False))
        for model, optimiser in zip(models, optimisers, strict=True):
            optimiser.zero_grad()
            nn.functional.mse_loss(model(x[batch]), y[batch]).backward()
            optimiser.step()
        gaps = [
            (a - b).detach().abs().max()
            for a, b in zip(*(m.parameters() for m in models), strict=True)
        ]
        worst = max(worst, float(max(gaps)))
    detail = f"{steps} steps, {hyper}, torch {torch.__version__}"
    return record(name, worst, tolerance, detail)


# ---------------------------------------------------------------- by hand in NumPy

NumpyParams = dict[str, np.ndarray]


def tanh_net_data(rng: np.random.Generator, n: int = 32) -> tuple[np.ndarray, ...]:
    """x (n, 4), y (n, 2) and the initial W1 (5, 4), b1 (5,), W2 (2, 5), b2 (2,)."""
    sizes = ((n, 4), (n, 2), (5, 4), (5,), (2, 5), (2,))
    return tuple(rng.standard_normal(shape) for shape in sizes)


def tanh_net_grads(p: NumpyParams, x: np.ndarray, y: np.ndarray) -> NumpyParams:
    """Backprop by hand for L = mean((W2 tanh(W1 x + b1) + b2 − y)²) over all n·2 entries."""
    h = np.tanh(x @ p["W1"].T + p["b1"])  # (n, 5)
    d_out = 2.0 * (h @ p["W2"].T + p["b2"] - y) / y.size  # ∂L/∂out, (n, 2)
    d_z = (d_out @ p["W2"]) * (1.0 - h**2)  # through tanh' = 1 − tanh², (n, 5)
    return {"W1": d_z.T @ x, "b1": d_z.sum(0), "W2": d_out.T @ h, "b2": d_out.sum(0)}


def torch_tanh_net(p: NumpyParams) -> tuple[nn.Sequential, list[str]]:
    """The same net as an ``nn.Sequential`` (float64) and its parameter names in order."""
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    with torch.no_grad():
        for layer, key in ((net[0], "1"), (net[2], "2")):
            layer.weight.copy_(torch.from_numpy(p["W" + key]))
            layer.bias.copy_(torch.from_numpy(p["b" + key]))
    return net, ["W1", "b1", "W2", "b2"]


def lars_by_hand(
    p: NumpyParams, x: np.ndarray, y: np.ndarray, steps: int, hyper: dict[str, Any]
) -> list[tuple[NumpyParams, dict[str, float]]]:
    """Algorithm 1 of You et al. step by step: (weights, trust ratios) after each step."""
    p = {k: v.copy() for k, v in p.items()}
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    history = []
    for _ in range(steps):
        grads, ratios = tanh_net_grads(p, x, y), {}
        for key, w in p.items():
            excluded = hyper["exclude_1d"] and w.ndim == 1
            beta = 0.0 if excluded else hyper["weight_decay"]
            w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(grads[key])
            ratios[key] = 1.0
            if not excluded:
                ratios[key] = hyper["trust_coefficient"] * w_norm / (g_norm + beta * w_norm)
            local = hyper["lr"] * ratios[key] * (grads[key] + beta * w)
            velocity[key] = hyper["momentum"] * velocity[key] + local
            p[key] = w - velocity[key]
        history.append(({k: v.copy() for k, v in p.items()}, ratios))
    return history


def check_lars_hand(
    rng: np.random.Generator,
    steps: int = 3,
    hyper: dict[str, Any] | None = None,
    lars: OptimiserFactory = LARS,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |w_ours − w_hand| and |λ_ours − λ_hand| over steps and layers, biases in and out."""
    hyper = hyper or dict(lr=0.5, momentum=0.9, weight_decay=0.01, trust_coefficient=0.02)
    x, y, *weights = tanh_net_data(rng)
    start = dict(zip(["W1", "b1", "W2", "b2"], weights, strict=True))
    worst = 0.0
    for exclude_1d in (False, True):
        settings = dict(hyper, exclude_1d=exclude_1d)
        net, names = torch_tanh_net(start)
        optimiser = lars(net.parameters(), eps=0.0, **settings)
        for hand, hand_ratios in lars_by_hand(start, x, y, steps, settings):
            optimiser.zero_grad()
            nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
            optimiser.step()
            for name, param in zip(names, net.parameters(), strict=True):
                ratio = optimiser.state[param].get("trust_ratio", np.nan)
                weight_gap = np.max(np.abs(param.detach().numpy() - hand[name]))
                worst = max(worst, float(weight_gap), abs(ratio - hand_ratios[name]))
    return record("lars_hand", worst, tolerance, f"{steps} steps, {hyper}, biases in and out")


def lookahead_by_hand(
    p: NumpyParams, x: np.ndarray, y: np.ndarray, steps: int, hyper: dict[str, Any]
) -> list[tuple[NumpyParams, NumpyParams]]:
    """Heavy-ball SGD inside Lookahead unrolled by hand: (fast, slow) after each step."""
    fast = {k: v.copy() for k, v in p.items()}
    slow = {k: v.copy() for k, v in p.items()}  # φ₀ = θ₀
    velocity: NumpyParams = {}
    history = []
    for t in range(1, steps + 1):
        grads = tanh_net_grads(fast, x, y)
        for key, g in grads.items():  # b ← g at the first step, then b ← μb + g
            velocity[key] = g if t == 1 else hyper["momentum"] * velocity[key] + g
            fast[key] = fast[key] - hyper["lr"] * velocity[key]
        if t % hyper["k"] == 0:
            for key in fast:
                slow[key] = slow[key] + hyper["alpha"] * (fast[key] - slow[key])
                fast[key] = slow[key].copy()
        history.append(
            ({k: v.copy() for k, v in fast.items()}, {k: v.copy() for k, v in slow.items()})
        )
    return history


def check_lookahead_hand(
    rng: np.random.Generator,
    hyper: dict[str, Any] | None = None,
    lookahead: OptimiserFactory = Lookahead,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |θ_ours − θ_hand| and |φ_ours − φ_hand| after every step of 2k + 1 steps."""
    hyper = hyper or dict(lr=0.1, momentum=0.9, k=3, alpha=0.5)
    x, y, *weights = tanh_net_data(rng)
    start = dict(zip(["W1", "b1", "W2", "b2"], weights, strict=True))
    net, names = torch_tanh_net(start)
    inner = Momentum(net.parameters(), lr=hyper["lr"], momentum=hyper["momentum"])
    optimiser = lookahead(inner, k=hyper["k"], alpha=hyper["alpha"])
    steps, worst = 2 * hyper["k"] + 1, 0.0
    for fast, slow in lookahead_by_hand(start, x, y, steps, hyper):
        optimiser.zero_grad()
        nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        optimiser.step()
        for name, param in zip(names, net.parameters(), strict=True):
            ours_slow = optimiser.state[param]["slow"].numpy()
            gaps = (param.detach().numpy() - fast[name], ours_slow - slow[name])
            worst = max(worst, *(float(np.max(np.abs(gap))) for gap in gaps))
    return record("lookahead_hand", worst, tolerance, f"{steps} steps, {hyper}")


TORCH_CASES: dict[str, tuple[OptimiserFactory, OptimiserFactory]] = {
    "sgd_torch": (Momentum, torch.optim.SGD),
    "heavy_ball_torch": (Momentum, torch.optim.SGD),
    "nesterov_torch": (Momentum, torch.optim.SGD),
    "adamw_torch": (AdamW, torch.optim.AdamW),
    "amsgrad_torch": (AdamW, torch.optim.AdamW),
}
