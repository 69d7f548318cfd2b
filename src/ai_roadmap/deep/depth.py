"""Plain against residual networks of growing depth, trained for the same SGD budget.

Both kinds are stacks of ``depth`` linear layers with BatchNorm and ReLU; the residual
net pairs the hidden layers into pre-activation blocks x + W₂ ReLU(BN(W₁ ReLU(BN(x))))
(the torch twin of :class:`~ai_roadmap.deep.residual.ResidualBlock`), so the only
difference is the shortcut. He et al. (2016) call what the plain nets show the
degradation problem: deeper plain stacks reach a *higher training* loss, which
over-fitting cannot explain. The task is a random teacher: x ~ N(0, I) labelled by the
argmax of a random one-hidden-layer tanh network, so it is learnable at every depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class DepthExperiment:
    """Networks, task and optimiser of the plain-vs-residual comparison."""

    depths: tuple[int, ...] = (4, 8, 16, 32, 64)  # linear layers; residual: (depth − 2)/2 blocks
    width: int = 64
    in_dim: int = 32  # x ~ N(0, I_in_dim)
    classes: int = 10
    n_samples: int = 1024
    steps: int = 300  # SGD steps per network (the same budget at every depth)
    batch: int = 128  # examples per step
    lr: float = 0.05
    momentum: float = 0.9


class PreActBlock(nn.Module):
    """x + W₂ ReLU(BN(W₁ ReLU(BN(x)))): the torch twin of :class:`~.residual.ResidualBlock`."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width, bias=False),
            nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width, bias=False),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def deep_net(kind: str, depth: int, in_dim: int, width: int, classes: int) -> nn.Sequential:
    """``depth`` linear layers: a stem, depth − 2 hidden ones and a head (He initialisation).

    plain:    Linear, then [BN, ReLU, Linear] × (depth − 2), then BN, ReLU, Linear head;
    residual: the same layers paired into (depth − 2)/2 pre-activation blocks.
    """
    if depth < 2 or (kind == "residual" and depth % 2):
        raise ValueError(f"depth must be ≥ 2 (and even for a residual net), got {depth}")
    if kind == "plain":
        hidden = [
            nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, width))
            for _ in range(depth - 2)
        ]
    elif kind == "residual":
        hidden = [PreActBlock(width) for _ in range((depth - 2) // 2)]
    else:
        raise ValueError(f"kind is plain or residual, got {kind!r}")
    head = [nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, classes)]
    net = nn.Sequential(nn.Linear(in_dim, width), *hidden, *head)
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def teacher_task(n: int, in_dim: int, classes: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ N(0, I); y = argmax of a random one-hidden-layer tanh network (a learnable task)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_dim, generator=g)
    a = torch.randn(in_dim, 64, generator=g) / math.sqrt(in_dim)
    b = torch.randn(64, classes, generator=g) / 8.0
    return x, (torch.tanh(x @ a) @ b).argmax(dim=1)


def train_losses(
    net: nn.Module, x: torch.Tensor, y: torch.Tensor, c: DepthExperiment, seed: int
) -> np.ndarray:
    """Minibatch cross-entropy at each of ``c.steps`` SGD-with-momentum steps."""
    opt = torch.optim.SGD(net.parameters(), lr=c.lr, momentum=c.momentum)
    g = torch.Generator().manual_seed(seed)
    losses = np.empty(c.steps)
    net.train()
    for step in range(c.steps):
        idx = torch.randint(len(x), (c.batch,), generator=g)
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[step] = loss.item()
    return losses


def depth_experiment(c: DepthExperiment, seed: int) -> dict[tuple[str, int], np.ndarray]:
    """Loss curves of plain and residual nets at every depth in ``c.depths`` (same data, seed)."""
    x, y = teacher_task(c.n_samples, c.in_dim, c.classes, seed)
    curves = {}
    for depth in c.depths:
        for kind in ("plain", "residual"):
            torch.manual_seed(seed)
            net = deep_net(kind, depth, c.in_dim, c.width, c.classes)
            curves[kind, depth] = train_losses(net, x, y, c, seed)
    return curves


def final_loss(curve: np.ndarray) -> float:
    """Mean minibatch loss over the last 10 % of the steps."""
    return float(np.mean(curve[-max(1, len(curve) // 10) :]))
