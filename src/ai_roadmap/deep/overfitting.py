"""An MLP that over-fits a small subset of the MNIST digits, trained plain and regularised.

One network (Flatten, then Linear + ReLU per hidden width, then Linear to 10 classes),
one data subset, one seed per repeat; the runs differ only in the regulariser of
:mod:`ai_roadmap.deep.regularize`:

- ``baseline``          plain cross-entropy;
- ``dropout``           inverted dropout with probability p after each hidden layer;
- ``label_smoothing``   cross-entropy against (1 − ε) e_y + ε/K;
- ``mixup``, ``cutmix`` the mixed batch and the λ-weighted loss;
- ``early_stopping``    stop after ``patience`` epochs without a better validation loss
  and restore the best epoch's weights.

Each epoch records the plain cross-entropy and accuracy of both splits in eval mode;
the train − validation gap at the end is the effect a regulariser has on over-fitting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.deep import regularize as reg


@dataclass(frozen=True)
class Experiment:
    """The subset, the network, the optimiser and every regulariser's setting."""

    n_train: int = 1000  # MNIST digits the MLP trains on (small: it over-fits)
    n_val: int = 2000  # held-out digits for the gap
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden widths
    epochs: int = 60
    batch: int = 100
    lr: float = 1e-3  # Adam
    repeats: int = 1  # seeds seed, seed + 1, ...
    dropout: float = 0.5  # p after each hidden layer
    label_smoothing: float = 0.1  # ε
    mixup_alpha: float = 0.4  # λ ~ Beta(α, α)
    cutmix_alpha: float = 1.0
    patience: int = 5  # early stopping on the validation cross-entropy
    min_delta: float = 0.0


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


def mlp(hidden: tuple[int, ...], p_drop: float, generator: torch.Generator) -> nn.Sequential:
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
    name: str,
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    c: Experiment,
    rng: np.random.Generator,
) -> torch.Tensor:
    """The training loss of one minibatch under regulariser ``name``."""
    if name == "label_smoothing":
        return reg.smoothed_cross_entropy(model(x), y, c.label_smoothing)
    if name in ("mixup", "cutmix"):
        mix = reg.mixup if name == "mixup" else reg.cutmix
        batch = mix(x, y, c.mixup_alpha if name == "mixup" else c.cutmix_alpha, rng)
        return reg.mixed_loss(model(batch.inputs), batch)
    return F.cross_entropy(model(x), y)


def train(name: str, data: Split, c: Experiment, seed: int) -> History:
    """Adam on minibatches for ``c.epochs`` epochs (fewer when early stopping fires)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = mlp(c.hidden, c.dropout if name == "dropout" else 0.0, g)
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
