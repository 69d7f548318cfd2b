"""A 784 → H → 10 ReLU MLP trained on MNIST twice: on our NumPy autodiff engine and in torch.

The model is logits = relu(x W₁ + b₁) W₂ + b₂, the loss the mean softmax
cross-entropy, and the optimiser SGD with (heavy-ball) momentum as torch writes it,
v ← μ v + g, θ ← θ − η_t v, with a cosine learning-rate decay
η_t = η · ½ (1 + cos(π t / T)) over the T steps of a run. :func:`train_ours` takes
every gradient from :mod:`ai_roadmap.deep.autodiff`; :func:`train_torch` repeats the
run with torch autograd and ``torch.optim.SGD`` (float64) from the same initial
weights on the same mini-batches in the same order. Both compute the same function
in the same precision, so their loss curves must coincide up to rounding.

:func:`finite_difference_error` checks our gradient at the initial weights against
central differences, (L(θ + εe_i) − L(θ − εe_i)) / 2ε, on random coordinates.

Data: :func:`make_split` splits the digits per class (stratified), scales the pixels to
[0, 1] and standardises them with the training set's mean and standard deviation.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ai_roadmap.deep.autodiff import Tensor, cross_entropy

N_CLASSES = 10
N_PIXELS = 28 * 28


@dataclass(frozen=True)
class TrainConfig:
    """The MLP's width and the optimiser's hyperparameters."""

    hidden: int = 256  # H, units of the hidden ReLU layer
    epochs: int = 10  # passes over the training digits
    batch_size: int = 64  # digits per SGD step (the last batch of an epoch may be smaller)
    lr: float = 0.05  # η, peak learning rate (per mean-loss gradient)
    momentum: float = 0.9  # μ of v ← μ v + g

    def __post_init__(self) -> None:
        if min(self.hidden, self.epochs, self.batch_size) < 1:
            raise ValueError("hidden, epochs and batch_size must be at least 1")
        if self.lr <= 0 or not 0 <= self.momentum < 1:
            raise ValueError("need lr > 0 and 0 <= momentum < 1")


@dataclass(frozen=True)
class TrainedRun:
    """Final weights, the mini-batch loss of every step, and the wall time of the steps."""

    weights: dict[str, np.ndarray]
    losses: list[float]
    seconds: float


@dataclass(frozen=True)
class Split:
    """Standardised pixels (N, 784) and integer labels (N,) of each side of the split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


# ---------------------------------------------------------------- data


def stratified_split(
    labels: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: each class shuffled, its first round(fraction·n) held out."""
    train, test = [], []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_test = round(test_fraction * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), np.sort(np.concatenate(test))


def make_split(
    images: np.ndarray,
    labels: np.ndarray,
    test_fraction: float,
    rng: np.random.Generator,
    train_limit: int | None = None,
) -> Split:
    """Split, keep the first ``train_limit`` (shuffled) training digits, standardise."""
    train, test = stratified_split(labels, test_fraction, rng)
    train = train[:train_limit]
    pixels = images.reshape(len(images), N_PIXELS) / 255.0  # (N, 28, 28) -> (N, 784)
    mean, std = pixels[train].mean(), pixels[train].std()
    x = (pixels - mean) / std
    y = labels.astype(np.int64)
    return Split(x[train], y[train], x[test], y[test])


def batch_schedule(
    n: int, batch_size: int, epochs: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """The index batches of every step: a fresh permutation per epoch, cut in order."""
    batches = []
    for _ in range(epochs):
        order = rng.permutation(n)
        batches += [order[i : i + batch_size] for i in range(0, n, batch_size)]
    return batches


# ---------------------------------------------------------------- model


def init_params(hidden: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """torch ``nn.Linear``'s default: every weight and bias ~ U(−1/√fan_in, 1/√fan_in)."""
    params = {}
    for name, fan_in, fan_out in (("1", N_PIXELS, hidden), ("2", hidden, N_CLASSES)):
        bound = 1.0 / math.sqrt(fan_in)
        params["W" + name] = rng.uniform(-bound, bound, (fan_in, fan_out))
        params["b" + name] = rng.uniform(-bound, bound, fan_out)
    return params


def mlp_logits(params: dict[str, Any], x: Any) -> Any:
    """relu(x W₁ + b₁) W₂ + b₂: (B, 784) -> (B, 10); the same code runs on torch tensors."""
    return (x @ params["W1"] + params["b1"]).relu() @ params["W2"] + params["b2"]


def predict(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The logits of trained weights, through our engine with no graph recorded."""
    constants = {name: Tensor(value, requires_grad=False) for name, value in weights.items()}
    return mlp_logits(constants, Tensor(x, requires_grad=False)).data


def cosine_lr(lr: float, step: int, total: int) -> float:
    """η_t = η · ½ (1 + cos(π t / T))."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * step / total))


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


# ---------------------------------------------------------------- training


def train_ours(
    init: dict[str, np.ndarray], split: Split, batches: list[np.ndarray], tc: TrainConfig
) -> TrainedRun:
    """SGD with momentum on our engine."""
    params = {name: Tensor(value.copy()) for name, value in init.items()}
    velocity = {name: np.zeros_like(value) for name, value in init.items()}
    losses, started = [], time.perf_counter()
    for step, idx in enumerate(batches):
        x = Tensor(split.x_train[idx], requires_grad=False)
        loss = cross_entropy(mlp_logits(params, x), split.y_train[idx])
        for p in params.values():
            p.grad = None
        loss.backward()
        lr = cosine_lr(tc.lr, step, len(batches))
        for name, p in params.items():
            velocity[name] = tc.momentum * velocity[name] + p.grad
            p.data = p.data - lr * velocity[name]
        losses.append(loss.item())
    seconds = time.perf_counter() - started
    return TrainedRun({name: p.data for name, p in params.items()}, losses, seconds)


def train_torch(
    init: dict[str, np.ndarray], split: Split, batches: list[np.ndarray], tc: TrainConfig
) -> TrainedRun:
    """The same run with torch autograd and ``torch.optim.SGD`` (float64)."""
    import torch
    import torch.nn.functional as F

    from ai_roadmap.training.threads import torch_threads

    params = {name: torch.tensor(value, requires_grad=True) for name, value in init.items()}
    optimiser = torch.optim.SGD(params.values(), lr=tc.lr, momentum=tc.momentum)
    x_all, y_all = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    losses, started = [], time.perf_counter()
    with torch_threads(1):  # batches this small only pay for thread synchronisation
        for step, idx in enumerate(batches):
            batch = torch.from_numpy(idx)
            loss = F.cross_entropy(mlp_logits(params, x_all[batch]), y_all[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.param_groups[0]["lr"] = cosine_lr(tc.lr, step, len(batches))
            optimiser.step()
            losses.append(loss.item())
    seconds = time.perf_counter() - started
    weights = {name: p.detach().numpy().copy() for name, p in params.items()}
    return TrainedRun(weights, losses, seconds)


def finite_difference_error(
    init: dict[str, np.ndarray],
    split: Split,
    rng: np.random.Generator,
    n_coords: int,
    eps: float,
) -> float:
    """Max |analytic − central difference| / max(1, |central difference|) on random coordinates."""
    idx = rng.choice(len(split.y_train), size=min(64, len(split.y_train)), replace=False)
    x, y = Tensor(split.x_train[idx], requires_grad=False), split.y_train[idx]

    def loss_at(params: dict[str, np.ndarray]) -> float:
        return cross_entropy(Tensor(predict(params, x.data), requires_grad=False), y).item()

    tensors = {name: Tensor(value) for name, value in init.items()}
    cross_entropy(mlp_logits(tensors, x), y).backward()
    worst = 0.0
    for _ in range(n_coords):
        name = str(rng.choice(list(init)))
        coord = tuple(int(rng.integers(0, n)) for n in init[name].shape)
        shifted = {sign: {k: v.copy() for k, v in init.items()} for sign in (1, -1)}
        for sign, params in shifted.items():
            params[name][coord] += sign * eps
        numeric = (loss_at(shifted[1]) - loss_at(shifted[-1])) / (2 * eps)
        analytic = float(tensors[name].grad[coord])  # type: ignore[index]
        worst = max(worst, abs(analytic - numeric) / max(1.0, abs(numeric)))
    return worst
