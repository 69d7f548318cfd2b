"""s3.layers — activation saturation, BatchNorm and residual blocks, checked and measured.

Checks (each a :class:`CheckRecord`; ``checks_failed`` is the target). From
:mod:`~ai_roadmap.deep.batchnorm` and :mod:`~ai_roadmap.deep.residual`, where the maths is:

- ``bn_train_torch``      our BatchNorm in training mode vs ``torch.nn.BatchNorm2d``
  (float64) over several steps: y, ∂L/∂x, ∂L/∂γ, ∂L/∂β and the running mean / variance;
- ``bn_eval_torch``       the same in eval mode (running statistics);
- ``bn_backward_fd``      the hand-written BatchNorm backward vs central differences;
- ``bn_normalises``       in training mode each channel of y has mean β, variance γ²σ²/(σ² + ε);
- ``residual_torch``      the residual block's forward and every gradient vs autograd;
- ``residual_identity``   ∂y/∂x − I equals torch's Jacobian of the branch F alone.

From this module:

- ``activation_derivatives``  σ' = σ(1 − σ), tanh' = 1 − tanh², ReLU', GELU' = Φ + xφ vs
  autograd, and max σ' = 1/4, max tanh' = 1;
- ``saturation_bound``    in a deep MLP ||δ_l|| ≤ sup|φ'| · ||W_{l+1}||₂ · ||δ_{l+1}|| at every
  layer for every activation (δ_l = ∂L/∂z_l, the back-propagated error).

Why saturation kills gradients. With z_{l+1} = W_{l+1} φ(z_l) + b_{l+1} the chain rule
gives δ_l = φ'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so over L layers the error is multiplied by L
Jacobians and shrinks at least like ∏ sup|φ'| ||W||₂. For the sigmoid σ'(x) =
σ(x)(1 − σ(x)) ≤ 1/4 (p(1 − p) peaks at p = ½), and far less once |x| is large (the
saturated tails): even with ||W||₂ ≈ 2 the bound falls by half per layer. tanh(x) =
2σ(2x) − 1 has tanh' = 1 − tanh² ≤ 1, ReLU' ∈ {0, 1} and GELU' = Φ(x) + xφ(x) ≤ 1.13.

Experiments: the gradient norm ||δ_l|| by depth for the four activations (each with its
usual initialisation: Glorot for sigmoid / tanh, He for ReLU / GELU) and a plain vs
residual network of growing depth trained for the same number of SGD steps. Both nets
use BatchNorm, so the difference is the shortcut alone; He et al. (2016) call what the
plain nets show the degradation problem: deeper plain stacks reach a *higher training*
loss, which over-fitting cannot explain.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.deep import batchnorm as bnm
from ai_roadmap.deep import residual as res
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

ACTIVATIONS = ("sigmoid", "tanh", "relu", "gelu")
GELU_SUP = 0.5 * (1 + math.erf(1.0)) + math.sqrt(2.0) * math.exp(-1.0) / math.sqrt(2 * math.pi)
SUP_DERIVATIVE = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0, "gelu": GELU_SUP}  # GELU' at x = √2


def torch_activation(name: str, z: torch.Tensor) -> torch.Tensor:
    """φ(z) for one of :data:`ACTIVATIONS` (exact, erf-based GELU)."""
    fns = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "gelu": F.gelu}
    return fns[name](z)


def activation_derivative(name: str, x: np.ndarray) -> np.ndarray:
    """φ'(x) from its formula: σ(1 − σ), 1 − tanh², 1[x > 0], Φ(x) + xφ(x)."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-x))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "relu":
        return (x > 0).astype(float)
    if name == "gelu":
        cdf = 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
        return cdf + x * np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    raise ValueError(f"unknown activation {name!r}; use one of {ACTIVATIONS}")


# ---------------------------------------------------------------- activation checks


def check_activation_derivatives(
    grid: np.ndarray, derivative: Callable = activation_derivative, tolerance: float = 1e-12
) -> CheckRecord:
    """max |φ'_formula − φ'_autograd| over the grid, plus |max σ' − 1/4| and |max tanh' − 1|."""
    x_t = torch.tensor(grid, requires_grad=True)
    errors = {}
    for name in ACTIVATIONS:
        (auto,) = torch.autograd.grad(torch_activation(name, x_t).sum(), x_t)
        errors[name] = float(np.max(np.abs(derivative(name, grid) - auto.numpy())))
    errors["max σ'"] = abs(float(np.max(derivative("sigmoid", grid))) - 0.25)
    errors["max tanh'"] = abs(float(np.max(derivative("tanh", grid))) - 1.0)
    worst = max(errors, key=errors.__getitem__)
    detail = f"{grid.size} points on [{grid[0]:g}, {grid[-1]:g}], worst: {worst}"
    return record("activation_derivatives", errors[worst], tolerance, detail)


# ---------------------------------------------------------------- saturation experiment


@dataclass(frozen=True)
class Saturation:
    """One deep MLP's back-propagated error by layer."""

    activation: str
    error_norms: np.ndarray  # (depth,) ||δ_l||_F = ||∂L/∂z_l||_F for the layers l = 1..depth
    weight_norms: np.ndarray  # (depth,) ||W_{l+1}||₂, the matrix δ_l comes back through


def gradient_by_depth(
    name: str, depth: int, width: int, batch: int, classes: int, seed: int
) -> Saturation:
    """h_0 = x, z_l = W_l h_{l−1}, h_l = φ(z_l); cross-entropy on random labels; ||∂L/∂z_l||.

    Glorot N(0, 1/width) for sigmoid / tanh, He N(0, 2/width) for ReLU / GELU (float64).
    """
    g = torch.Generator().manual_seed(seed)
    std = math.sqrt((1.0 if name in ("sigmoid", "tanh") else 2.0) / width)
    sizes = [(width, width)] * depth + [(classes, width)]
    weights = [torch.randn(s, generator=g, dtype=torch.float64) * std for s in sizes]
    h = torch.randn(batch, width, generator=g, dtype=torch.float64).requires_grad_(True)
    labels = torch.randint(classes, (batch,), generator=g)
    pre = []
    for w in weights[:-1]:
        z = h @ w.T  # (B, width) @ (width, width) -> (B, width)
        z.retain_grad()
        pre.append(z)
        h = torch_activation(name, z)
    F.cross_entropy(h @ weights[-1].T, labels).backward()
    return Saturation(
        name,
        np.array([float(z.grad.norm()) for z in pre]),
        np.array([float(torch.linalg.matrix_norm(w, ord=2)) for w in weights[1:]]),
    )


def check_saturation_bound(
    runs: list[Saturation], sup: dict[str, float] = SUP_DERIVATIVE, tolerance: float = 1e-9
) -> CheckRecord:
    """max over nets and layers of (||δ_l|| / (sup|φ'| ||W_{l+1}||₂ ||δ_{l+1}||) − 1)⁺.

    δ_l = φ'(z_l) ⊙ W_{l+1}ᵀ δ_{l+1}, so the ratio can never exceed 1.
    """
    worst, tightest = 0.0, {}
    for run_ in runs:
        e, w = run_.error_norms, run_.weight_norms
        ratio = e[:-1] / (sup[run_.activation] * w[:-1] * e[1:])
        worst = max(worst, float(np.max(ratio)) - 1.0)
        tightest[run_.activation] = float(np.max(ratio))
    detail = "largest ratio to the bound: " + ", ".join(f"{k} {v:.2f}" for k, v in tightest.items())
    return record("saturation_bound", max(worst, 0.0), tolerance, detail)


# ---------------------------------------------------------------- plain vs residual depth


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


def train_losses(net: nn.Module, x: torch.Tensor, y: torch.Tensor, c: Any, seed: int) -> np.ndarray:
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


def depth_experiment(c: Any, seed: int) -> dict[tuple[str, int], np.ndarray]:
    """Loss curves of plain and residual nets at every depth in ``c.depths`` (same data, seed)."""
    x, y = teacher_task(c.n_samples, c.in_dim, c.classes, seed)
    curves = {}
    for depth in c.depths:
        for kind in ("plain", "residual"):
            torch.manual_seed(seed)
            net = deep_net(kind, int(depth), c.in_dim, c.width, c.classes)
            curves[kind, int(depth)] = train_losses(net, x, y, c, seed)
    return curves


def final_loss(curve: np.ndarray) -> float:
    """Mean minibatch loss over the last 10 % of the steps."""
    return float(np.mean(curve[-max(1, len(curve) // 10) :]))


# ---------------------------------------------------------------- plots


def _pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_saturation(runs: list[Saturation], path: Path) -> Path:
    """φ'(x) of each activation, and ||δ_l|| against the layer index (log scale)."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    grid = np.linspace(-6, 6, 601)
    for run_ in runs:
        left.plot(grid, activation_derivative(run_.activation, grid), label=run_.activation)
        layers = np.arange(1, len(run_.error_norms) + 1)
        right.semilogy(layers, run_.error_norms, "o-", ms=3, label=run_.activation)
    left.axhline(0.25, color="k", ls=":", lw=0.8, label="1/4 = max σ'")
    left.set(xlabel="x", ylabel="φ'(x)", title="derivatives: σ' ≤ 1/4 and → 0 in the tails")
    right.set(xlabel="layer l (1 = first)", ylabel="||∂L/∂z_l||", title="back-propagated error")
    for ax in (left, right):
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_depth(curves: dict[tuple[str, int], np.ndarray], path: Path) -> Path:
    """Final training loss against depth (plain vs residual) and the curves at the deepest."""
    plt = _pyplot()
    depths = sorted({d for _, d in curves})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for kind, marker in (("plain", "o-"), ("residual", "s-")):
        left.plot(depths, [final_loss(curves[kind, d]) for d in depths], marker, label=kind)
        window = max(1, len(curves[kind, depths[-1]]) // 20)
        smooth = np.convolve(curves[kind, depths[-1]], np.ones(window) / window, mode="valid")
        right.plot(np.arange(window, len(smooth) + window), smooth, label=kind)
    left.set(xscale="log", yscale="log", xlabel="depth (linear layers)")
    left.set(ylabel="final training loss", title="trainability by depth (same SGD budget)")
    left.set_xticks(depths, [str(d) for d in depths])
    left.xaxis.set_minor_locator(plt.NullLocator())
    right.set(yscale="log", xlabel="SGD step", ylabel="minibatch cross-entropy")
    right.set_title(f"depth {depths[-1]}: training curves (moving average)")
    for ax in (left, right):
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the milestone


def run_checks(cfg: Any, saturation: list[Saturation]) -> list[CheckRecord]:
    """Every check with the sizes in ``cfg``; each gets its own child of ``cfg.seed``."""
    names = ("bn_train", "bn_eval", "bn_fd", "bn_norm", "res_torch", "res_identity")
    seeds = np.random.SeedSequence(int(cfg.seed)).spawn(len(names))
    rngs = dict(zip(names, (np.random.default_rng(s) for s in seeds), strict=True))
    b, r = cfg.batchnorm, cfg.residual
    shape, fd_shape = tuple(b.shape), tuple(b.fd_shape)
    jobs: list[Callable[[], CheckRecord]] = [
        lambda: bnm.check_bn_train_torch(rngs["bn_train"], shape, b.steps, b.momentum, b.eps),
        lambda: bnm.check_bn_eval_torch(rngs["bn_eval"], shape, b.steps, b.momentum, b.eps),
        lambda: bnm.check_bn_backward_fd(rngs["bn_fd"], fd_shape),
        lambda: bnm.check_bn_normalises(rngs["bn_norm"], shape, b.eps),
        lambda: res.check_residual_torch(rngs["res_torch"], r.batch, r.dim, r.hidden),
        lambda: res.check_residual_identity(rngs["res_identity"], r.batch, r.dim, r.hidden),
        lambda: check_activation_derivatives(np.linspace(-10.0, 10.0, 2001)),
        lambda: check_saturation_bound(saturation),
    ]
    records = []
    for job in jobs:
        started = time.perf_counter()
        done = job()
        records.append(replace(done, seconds=time.perf_counter() - started))
    return records


def run(cfg: Any) -> Result:
    """Checks (``checks_failed`` is the target, ≤ 0) and the two depth experiments."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed, s, d = int(cfg.seed), cfg.saturation, cfg.deep_nets
    with torch_threads(int(cfg.torch_threads)):
        saturation = [
            gradient_by_depth(name, s.depth, s.width, s.batch, s.classes, seed)
            for name in ACTIVATIONS
        ]
        records = run_checks(cfg, saturation)
        curves = depth_experiment(d, seed)
    metrics, notes = summarise(records)
    for run_ in saturation:
        ratio = run_.error_norms[0] / run_.error_norms[-1]
        metrics[f"grad_ratio_first_last_{run_.activation}"] = float(ratio)
    for (kind, depth), curve in curves.items():
        metrics[f"final_train_loss_{kind}_depth{depth}"] = final_loss(curve)
    deepest = max(int(v) for v in d.depths)
    notes.append(
        f"depth {deepest}, {d.steps} SGD steps: final training loss plain "
        f"{final_loss(curves['plain', deepest]):.3g} vs residual "
        f"{final_loss(curves['residual', deepest]):.3g}; ||δ_1||/||δ_{s.depth}|| = "
        + ", ".join(
            f"{r.activation} {r.error_norms[0] / r.error_norms[-1]:.2g}" for r in saturation
        )
    )
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "saturation.png": plot_saturation(saturation, out / "saturation.png"),
        "plain_vs_residual.png": plot_depth(curves, out / "plain_vs_residual.png"),
    }
    return Result(
        metrics,
        dataset=(
            f"synthetic (seeded): random tensors for the checks; a {d.n_samples}-point "
            f"{d.classes}-class random-teacher task for the depth experiment"
        ),
        proxy=False,
        artifacts=artifacts,
        params={"seed": seed, "checks": len(records), "torch": torch.__version__},
        notes=notes,
    )
