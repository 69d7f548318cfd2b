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

From :mod:`~ai_roadmap.deep.activations` (why saturation kills gradients is derived there):

- ``activation_derivatives``  σ' = σ(1 − σ), tanh' = 1 − tanh², ReLU', GELU' = Φ + xφ vs
  autograd, and max σ' = 1/4, max tanh' = 1;
- ``saturation_bound``    in a deep MLP ||δ_l|| ≤ sup|φ'| · ||W_{l+1}||₂ · ||δ_{l+1}|| at every
  layer for every activation (δ_l = ∂L/∂z_l, the back-propagated error).

Experiments: the gradient norm ||δ_l|| by depth for the four activations (each with its
usual initialisation: Glorot for sigmoid / tanh, He for ReLU / GELU) and a plain vs
residual network of growing depth trained for the same number of SGD steps
(:mod:`~ai_roadmap.deep.depth`). Both nets use BatchNorm, so the difference is the
shortcut alone: deeper plain stacks reach a *higher training* loss (He et al.'s
degradation problem).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.deep import batchnorm as bnm
from ai_roadmap.deep import residual as res
from ai_roadmap.deep.activations import (
    ACTIVATIONS,
    Saturation,
    activation_derivative,
    check_activation_derivatives,
    check_saturation_bound,
    gradient_by_depth,
)
from ai_roadmap.deep.depth import DepthExperiment, depth_experiment, final_loss
from ai_roadmap.plots import figure, pyplot
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

if TYPE_CHECKING:
    from omegaconf import DictConfig

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class BatchNormChecks:
    """Sizes of the comparisons with ``torch.nn.BatchNorm2d``."""

    shape: tuple[int, ...] = (8, 3, 5, 5)  # (N, C, H, W)
    steps: int = 5  # training steps compared (running statistics accumulate)
    momentum: float = 0.1  # ρ of running ← (1 − ρ) running + ρ batch statistic
    eps: float = 1e-5  # ε in √(σ² + ε)
    fd_shape: tuple[int, ...] = (4, 2, 3, 3)  # smaller input for the finite-difference check


@dataclass(frozen=True)
class ResidualChecks:
    """Sizes of the residual block compared with autograd."""

    batch: int = 8  # N of the block's input (N, dim)
    dim: int = 6  # d, the block's width
    hidden: int = 10  # h, the width inside the branch


@dataclass(frozen=True)
class SaturationSetup:
    """The deep MLP whose back-propagated error is measured layer by layer."""

    depth: int = 30  # hidden layers
    width: int = 128
    batch: int = 256  # random N(0, I) inputs with random labels
    classes: int = 10


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.layers``."""

    seed: int = 0
    torch_threads: int = 1  # intra-op threads while it runs (small nets: one avoids contention)
    batchnorm: BatchNormChecks = field(default_factory=BatchNormChecks)
    residual: ResidualChecks = field(default_factory=ResidualChecks)
    saturation: SaturationSetup = field(default_factory=SaturationSetup)
    deep_nets: DepthExperiment = field(default_factory=DepthExperiment)


# ---------------------------------------------------------------- plots


def plot_saturation(runs: list[Saturation], path: Path) -> Path:
    """φ'(x) of each activation, and ||δ_l|| against the layer index (log scale)."""
    grid = np.linspace(-6, 6, 601)
    with figure(path, ncols=2, figsize=(11, 4), dpi=100) as (_, (left, right)):
        for run_ in runs:
            left.plot(grid, activation_derivative(run_.activation, grid), label=run_.activation)
            layers = np.arange(1, len(run_.error_norms) + 1)
            right.semilogy(layers, run_.error_norms, "o-", ms=3, label=run_.activation)
        left.axhline(0.25, color="k", ls=":", lw=0.8, label="1/4 = max σ'")
        left.set(xlabel="x", ylabel="φ'(x)", title="derivatives: σ' ≤ 1/4 and → 0 in the tails")
        right.set(xlabel="layer l (1 = first)", ylabel="||∂L/∂z_l||", title="back-propagated error")
        for ax in (left, right):
            ax.legend(fontsize=8)
    return path


def plot_depth(curves: dict[tuple[str, int], np.ndarray], path: Path) -> Path:
    """Final training loss against depth (plain vs residual) and the curves at the deepest."""
    depths = sorted({d for _, d in curves})
    with figure(path, ncols=2, figsize=(11, 4), dpi=100) as (_, (left, right)):
        for kind, marker in (("plain", "o-"), ("residual", "s-")):
            left.plot(depths, [final_loss(curves[kind, d]) for d in depths], marker, label=kind)
            window = max(1, len(curves[kind, depths[-1]]) // 20)
            smooth = np.convolve(curves[kind, depths[-1]], np.ones(window) / window, mode="valid")
            right.plot(np.arange(window, len(smooth) + window), smooth, label=kind)
        left.set(xscale="log", yscale="log", xlabel="depth (linear layers)")
        left.set(ylabel="final training loss", title="trainability by depth (same SGD budget)")
        left.set_xticks(depths, [str(d) for d in depths])
        left.xaxis.set_minor_locator(pyplot().NullLocator())
        right.set(yscale="log", xlabel="SGD step", ylabel="minibatch cross-entropy")
        right.set_title(f"depth {depths[-1]}: training curves (moving average)")
        for ax in (left, right):
            ax.legend()
    return path


# ---------------------------------------------------------------- the milestone


def run_checks(c: Config, saturation: list[Saturation]) -> list[CheckRecord]:
    """Every check with the sizes in ``c``; each gets its own child of ``c.seed``."""
    names = ("bn_train", "bn_eval", "bn_fd", "bn_norm", "res_torch", "res_identity")
    seeds = np.random.SeedSequence(c.seed).spawn(len(names))
    rngs = dict(zip(names, (np.random.default_rng(s) for s in seeds), strict=True))
    b, r = c.batchnorm, c.residual
    shape, fd_shape = b.shape, b.fd_shape
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


def run(cfg: DictConfig) -> Result:
    """Checks (``checks_failed`` is the target, ≤ 0) and the two depth experiments."""
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed, s, d = c.seed, c.saturation, c.deep_nets
    with torch_threads(c.torch_threads):
        saturation = [
            gradient_by_depth(name, s.depth, s.width, s.batch, s.classes, seed)
            for name in ACTIVATIONS
        ]
        records = run_checks(c, saturation)
        curves = depth_experiment(d, seed)
    metrics, notes = summarise(records)
    for run_ in saturation:
        ratio = run_.error_norms[0] / run_.error_norms[-1]
        metrics[f"grad_ratio_first_last_{run_.activation}"] = float(ratio)
    for (kind, depth), curve in curves.items():
        metrics[f"final_train_loss_{kind}_depth{depth}"] = final_loss(curve)
    deepest = max(d.depths)
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
