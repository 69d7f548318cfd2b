"""Optimisers compared on one task: an MLP on the MNIST digits, same start, same batches.

Every optimiser trains the same ReLU MLP (PyTorch's default initialisation from one
seed) on the same sequence of mini-batches, so the loss curves differ by the update
rule alone. An optimiser is named by a config entry
``{kind: momentum | adamw | lars | lookahead, ...}`` whose other keys are the
constructor's keyword arguments (a Lookahead entry nests its ``inner`` optimiser).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ai_roadmap.deep.optim import LARS, AdamW, Lookahead, Momentum


@dataclass(frozen=True)
class Comparison:
    """The task, the network, the schedule of evaluations and the optimisers compared."""

    n_train: int = 8000  # digits (of 10 000) used for training; the next n_test for test
    n_test: int = 2000
    hidden: tuple[int, ...] = (256, 256)  # ReLU MLP 784-256-256-10
    batch_size: int = 100
    epochs: int = 6
    eval_every: int = 40  # steps between test-loss evaluations
    smooth: int = 20  # train-loss moving-average window (steps) for the plot and final loss
    optimisers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → spec


def build_optimiser(spec: dict[str, Any], params: Any) -> torch.optim.Optimizer:
    """An optimiser from a config entry ``{kind: momentum|adamw|lars|lookahead, ...}``."""
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "lookahead":
        inner = build_optimiser(spec.pop("inner"), params)
        return Lookahead(inner, **spec)
    if kind == "adamw" and "betas" in spec:
        spec["betas"] = tuple(spec["betas"])
    makers = {"momentum": Momentum, "adamw": AdamW, "lars": LARS}
    return makers[kind](params, **spec)


@dataclass
class Curve:
    """One optimiser's run: train loss per step, test loss at the evaluation steps."""

    train_loss: list[float]
    eval_steps: list[int]
    test_loss: list[float]
    test_accuracy: float
    seconds: float


def mnist_split(n_train: int, n_test: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Standardised flattened digits: x_train, y_train, x_test, y_test (float32, int64)."""
    from ai_roadmap.datasets.mnist import load_mnist

    images, labels = load_mnist()
    order = np.random.default_rng(seed).permutation(len(images))
    x = torch.from_numpy(images[order].reshape(len(images), -1) / 255.0).float()  # (N, 784)
    x = (x - x[:n_train].mean()) / x[:n_train].std()
    y = torch.from_numpy(labels[order].astype(np.int64))
    test = slice(n_train, n_train + n_test)
    return x[:n_train], y[:n_train], x[test], y[test]


def train_one(
    spec: dict[str, Any], data: tuple[torch.Tensor, ...], cfg: Comparison, seed: int
) -> Curve:
    """Train the MLP from the seed's initialisation; batches are the same for every optimiser."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    sizes = [x_train.shape[1], *cfg.hidden, 10]
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    optimiser = build_optimiser(spec, model.parameters())
    batches = torch.Generator().manual_seed(seed)
    curve, started, step = Curve([], [], [], 0.0, 0.0), time.perf_counter(), 0
    for _ in range(cfg.epochs):
        for batch in torch.randperm(len(x_train), generator=batches).split(cfg.batch_size):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
            curve.train_loss.append(loss.item())
            step += 1
            if step % cfg.eval_every == 0:
                curve.eval_steps.append(step)
                curve.test_loss.append(evaluate(model, x_test, y_test)[0])
    curve.test_accuracy = evaluate(model, x_test, y_test)[1]
    curve.seconds = time.perf_counter() - started
    return curve


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on (x, y)."""
    logits = model(x)
    return float(nn.functional.cross_entropy(logits, y)), float(
        (logits.argmax(1) == y).double().mean()
    )


def compare(cfg: Comparison, seed: int) -> dict[str, Curve]:
    """Every optimiser of ``cfg.optimisers`` on the same task; name → curve."""
    data = mnist_split(cfg.n_train, cfg.n_test, seed)
    return {name: train_one(spec, data, cfg, seed) for name, spec in cfg.optimisers.items()}
