"""s3.optim — Momentum, AdamW, LARS and Lookahead checked against torch and their papers.

The optimisers live in :mod:`ai_roadmap.deep.optim`; this milestone runs the checks of
:mod:`ai_roadmap.deep.optim_checks` (each a :class:`~ai_roadmap.checks.CheckRecord`) and
one comparison run (:mod:`ai_roadmap.deep.optim_compare`):

1. ``sgd_torch``, ``heavy_ball_torch``, ``nesterov_torch``: :class:`Momentum` beside
   ``torch.optim.SGD`` (dampening and weight decay on, two parameter groups), and
   ``adamw_torch``, ``amsgrad_torch``: :class:`AdamW` beside ``torch.optim.AdamW`` —
   two copies of one float64 MLP, each stepped on its own gradients of the same
   mini-batches; error = max over steps and weights of |θ_ours − θ_torch|;
2. ``lars_hand``: :class:`LARS` against Algorithm 1 of You et al. computed in NumPy —
   gradients by hand-written backprop, trust ratios λ = η||w|| / (||g|| + β||w||)
   and updates — for a 2-layer net, with and without excluding the biases;
3. ``lookahead_hand``: :class:`Lookahead` around heavy-ball SGD against the same
   computation unrolled by hand (k fast steps, φ ← φ + α(θ − φ), θ ← φ), fast and
   slow weights compared after every step;
4. a comparison run: SGD, Momentum, Nesterov, AdamW, LARS, Lookahead(SGD) and
   Lookahead(Adam) train the same MLP from the same initialisation on the same
   mini-batches of the MNIST digits; their loss curves go into one PNG.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.deep.optim_checks import (
    TORCH_CASES,
    check_lars_hand,
    check_lookahead_hand,
    check_torch_match,
)
from ai_roadmap.deep.optim_compare import Comparison, Curve, compare
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

if TYPE_CHECKING:
    from omegaconf import DictConfig

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class LarsHyper:
    """LARS in the hand-computed check."""

    lr: float = 0.5
    momentum: float = 0.9
    weight_decay: float = 0.01
    trust_coefficient: float = 0.02


@dataclass(frozen=True)
class LookaheadHyper:
    """Lookahead around heavy-ball SGD in the hand-computed check (2k + 1 steps)."""

    lr: float = 0.1
    momentum: float = 0.9
    k: int = 3
    alpha: float = 0.5


@dataclass(frozen=True)
class Checks:
    """Sizes and tolerances of the checks."""

    steps: int = 200  # optimiser steps compared with torch.optim (float64 MLP 6-16-3)
    batch_size: int = 16  # mini-batch rows out of 256 synthetic points
    tolerance: float = 1e-7  # max |θ_ours − θ_torch| over every step and weight
    torch_cases: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → kwargs
    lars_steps: int = 3  # LARS steps computed by hand on a 4-5-2 tanh net
    lars: LarsHyper = field(default_factory=LarsHyper)
    lookahead: LookaheadHyper = field(default_factory=LookaheadHyper)


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.optim``."""

    seed: int = 0
    threads: int = 1  # torch CPU threads while the milestone runs (restored after)
    checks: Checks = field(default_factory=Checks)
    compare: Comparison = field(default_factory=Comparison)


# ---------------------------------------------------------------- plot


def plot_curves(curves: dict[str, Curve], cfg: Comparison, path: Path) -> Path:
    """Train loss (moving average) and test loss against the step, one line per optimiser."""
    window = max(1, min(cfg.smooth, len(next(iter(curves.values())).train_loss)))
    with figure(path, ncols=2, figsize=(12, 4.5), dpi=100, sharey=True) as (fig, axes):
        left, right = axes
        for name, curve in curves.items():
            smooth = np.convolve(curve.train_loss, np.ones(window) / window, mode="valid")
            (line,) = left.plot(np.arange(window, len(curve.train_loss) + 1), smooth, label=name)
            right.plot(curve.eval_steps, curve.test_loss, "o-", ms=3, color=line.get_color())
        left.set(xlabel="step", ylabel="cross-entropy", yscale="log")
        left.set_title(f"train loss (mean of the last {window} mini-batches)")
        right.set(xlabel="step", title=f"test loss ({cfg.n_test} held-out digits)")
        left.legend(fontsize=8)
        fig.suptitle(
            f"MNIST digits, MLP 784-{'-'.join(map(str, cfg.hidden))}-10, {cfg.n_train} train, "
            f"batch {cfg.batch_size}, {cfg.epochs} epochs, same init and batches for all"
        )
    return path


# ---------------------------------------------------------------- the milestone


def run_checks(c: Checks, seed: int) -> list[CheckRecord]:
    """Every check with the settings in ``c``; each gets its own child of ``seed``."""
    hypers = c.torch_cases
    names = [*TORCH_CASES, "lars_hand", "lookahead_hand"]
    seeds = np.random.SeedSequence(seed).spawn(len(names))
    rngs = {n: np.random.default_rng(s) for n, s in zip(names, seeds, strict=True)}
    jobs: list[Callable[[], CheckRecord]] = [
        lambda name=name: check_torch_match(
            name, *TORCH_CASES[name], _tuples(hypers[name]), rngs[name], c.steps, c.batch_size,
            c.tolerance,
        )
        for name in TORCH_CASES
    ]  # fmt: skip
    jobs += [
        lambda: check_lars_hand(rngs["lars_hand"], c.lars_steps, asdict(c.lars)),
        lambda: check_lookahead_hand(rngs["lookahead_hand"], asdict(c.lookahead)),
    ]
    records = []
    for job in jobs:
        started = time.perf_counter()
        done = job()
        records.append(replace(done, seconds=time.perf_counter() - started))
    return records


def _tuples(hyper: dict[str, Any]) -> dict[str, Any]:
    """YAML lists → tuples (``betas``)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}


def run(cfg: DictConfig) -> Result:
    """Checks (``checks_failed`` is the target, ≤ 0) and the MNIST comparison run."""
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with torch_threads(c.threads):  # tiny models: extra threads only add overhead
        records = run_checks(c.checks, c.seed)
        curves = compare(c.compare, c.seed)
    metrics, notes = summarise(records)
    tail = max(1, c.compare.smooth)
    for name, curve in curves.items():
        metrics[f"final_train_loss_{name}"] = float(np.mean(curve.train_loss[-tail:]))
        metrics[f"final_test_loss_{name}"] = curve.test_loss[-1] if curve.test_loss else np.nan
        metrics[f"test_accuracy_{name}"] = curve.test_accuracy
        notes.append(
            f"{name}: final train loss {metrics[f'final_train_loss_{name}']:.4f}, test accuracy "
            f"{curve.test_accuracy:.4f} ({curve.seconds:.1f} s)"
        )
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "optimiser_curves.png": plot_curves(curves, c.compare, out / "optimiser_curves.png"),
    }
    n_train, n_test = c.compare.n_train, c.compare.n_test
    return Result(
        metrics,
        dataset=f"mnist 10k digits ({n_train} train / {n_test} test, seed {c.seed}) "
        "for the comparison; seeded synthetic data for the checks",
        proxy=False,
        artifacts=artifacts,
        params={"seed": c.seed, "checks": len(records), "torch": torch.__version__},
        notes=notes,
    )
