"""One training loop for every image classifier of stage 3: fast small-budget SGD, DDP-ready.

The recipe (He et al. 2016; Goyal et al. 2017; Smith & Topin 2019, "Super-Convergence";
Szegedy et al. 2016 for label smoothing; the airbench CIFAR-10 speed runs):

- SGD with Nesterov momentum μ: v ← μv + g,  w ← w − η(g + μv), and weight
  decay λw added to g for convolution and linear weights only (decaying BN's γ, β
  and biases only shrinks the scale the next layer would undo).
- One-cycle learning rate, linear up then linear down over the S steps of the run,
  with s_w = ⌈f·S⌉ warm-up steps:

      η(s) = η_max · (s + 1) / s_w            for s < s_w
      η(s) = η_max · (S − s) / (S − s_w)      for s ≥ s_w

- Label smoothing ε: the target puts 1 − ε on the true class and ε/K on every
  class, so the loss is
      L = −Σ_k q_k log p_k = (1 − ε)·(−log p_y) + ε · (1/K) Σ_k (−log p_k),
  which stops the logits from growing without bound on separable training data.
- Random-crop + flip augmentation on tensors (:mod:`ai_roadmap.training.augment`).
- Channels-last memory (N, H, W, C): oneDNN's and cuDNN's fastest convolutions
  read that layout, so no transposes run in every layer.
- bf16 autocast where the hardware computes in bf16 (any CUDA GPU since Ampere,
  CPUs with AVX512-BF16 or AMX); elsewhere fp32, since *emulated* bf16 is far slower.
- Test-time augmentation: average the logits of the image and its mirror image.

Scale-out: started by ``torchrun --nproc_per_node N``, the loop reads RANK /
WORLD_SIZE / LOCAL_RANK, joins the process group (gloo on CPU, NCCL on GPU),
wraps the model in DistributedDataParallel and gives each rank 1/N of every
global batch. DDP averages the gradients over ranks, and the mean of N equal-sized
per-rank mean losses is the global mean, so N ranks take the same steps as one
process with the whole batch — except BatchNorm, whose batch statistics stay
per rank (the usual choice: SyncBatchNorm costs a collective in every layer).

The loss is pluggable: ``loss_fn(logits, targets, inputs)`` gets the batch's
(normalised, augmented) inputs too, so a distillation loss can run its teacher on
exactly what the student saw.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ai_roadmap.datasets.images import ImageData
from ai_roadmap.training.augment import Augmentation, augment, epoch_batches, epoch_generator, shard
from ai_roadmap.training.checkpoints import load_checkpoint, save_checkpoint
from ai_roadmap.training.hardware import (
    Distributed,
    autocast_dtype,
    channels_last_is_safe,
    input_format,
    setup_distributed,
)

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
PRECISIONS = ("auto", "bf16", "fp32")
COMPILE_MODES = ("auto", "on", "off")


@dataclass(frozen=True)
class TrainOptions:
    """Hyperparameters of :func:`fit`; ``batch_size`` is global (all ranks together)."""

    epochs: int = 10
    batch_size: int = 256  # images per optimizer step, summed over ranks
    lr: float = 0.2  # η_max, peak of the one-cycle schedule
    momentum: float = 0.9  # μ of Nesterov SGD
    weight_decay: float = 5e-4  # λ on conv / linear weights
    label_smoothing: float = 0.1  # ε
    warmup_fraction: float = 0.2  # f: share of steps with η rising
    crop_padding: int = 4  # p: pixels of zero padding before the random crop
    flip: bool = True  # random horizontal flips
    channels_last: bool = True
    precision: str = "auto"  # auto: bf16 where the hardware has it, else fp32
    compile: str = "auto"  # auto: torch.compile on CUDA only (compile time > gain on small CPUs)
    seed: int = 0
    progress: bool = True  # tqdm bar on rank 0
    eval_batch_size: int = 500

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs ≥ 1, batch_size ≥ 1 and lr > 0 are required")
        if not 0.0 <= self.label_smoothing < 1.0 or not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError("label_smoothing and warmup_fraction must lie in [0, 1)")
        if self.precision not in PRECISIONS or self.compile not in COMPILE_MODES:
            raise ValueError(f"precision ∈ {PRECISIONS}, compile ∈ {COMPILE_MODES}")


# ── optimiser, schedule, loss ────────────────────────────────────────────────────────


def lr_at(step: int, total_steps: int, peak: float, warmup_fraction: float) -> float:
    """One-cycle η(s): linear 0 → η_max over s_w = ⌈f·S⌉ steps, then linear η_max → 0."""
    warmup = max(1, math.ceil(warmup_fraction * total_steps))
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * (total_steps - step) / max(1, total_steps - warmup)


def make_optimizer(model: nn.Module, options: TrainOptions) -> torch.optim.SGD:
    """Nesterov SGD; weight decay on ≥ 2-D weights (conv kernels, linear maps) only."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [
        {"params": decay, "weight_decay": options.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.SGD(groups, lr=options.lr, momentum=options.momentum, nesterov=True)


def smoothed_cross_entropy(epsilon: float) -> LossFn:
    """L = (1 − ε)(−log p_y) + ε · mean_k(−log p_k), averaged over the batch."""

    def loss(logits: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets, label_smoothing=epsilon)

    return loss


# ── the loop ─────────────────────────────────────────────────────────────────────────


@dataclass
class FitReport:
    """The trained model (unwrapped) and how the training went."""

    model: nn.Module
    history: list[dict[str, float]]  # per epoch: loss, accuracy (augmented batches), lr, seconds
    epochs: int  # epochs completed, resumed ones included
    train_seconds: float  # wall time of the epochs run in this call
    cpu_seconds: float  # process CPU time of those epochs (this rank)
    images: int  # training images processed by all ranks in this call
    precision: str
    channels_last: bool
    compiled: bool
    world_size: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def images_per_second(self) -> float:
        return self.images / self.train_seconds if self.train_seconds > 0 else 0.0


@dataclass
class _Loop:
    """What every step of :func:`fit` needs."""

    net: nn.Module  # the model as trained: maybe DDP-wrapped and compiled
    optimizer: torch.optim.Optimizer
    loss_fn: LossFn
    data: ImageData
    options: TrainOptions
    env: Distributed
    dtype: torch.dtype | None
    total_steps: int
    layout: torch.memory_format  # channels-last or the default, as the model's weights are


def _prepare(model: nn.Module, options: TrainOptions, env: Distributed) -> tuple[nn.Module, bool]:
    """Move to the device and layout; wrap in DDP (N > 1) and torch.compile (if chosen)."""
    model.to(env.device)
    if options.channels_last and channels_last_is_safe(model, env.device):
        model.to(memory_format=torch.channels_last)
    net: nn.Module = model
    if env.world_size > 1:
        device_ids = [env.local_rank] if env.device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    compiled = options.compile == "on" or (options.compile == "auto" and env.device.type == "cuda")
    if compiled:
        net = torch.compile(net)  # type: ignore[assignment]
    return net, compiled


def _step(
    loop: _Loop, rows: torch.Tensor, aug: Augmentation, step: int
) -> tuple[torch.Tensor, ...]:
    """One optimizer step on this rank's shard of the global batch; returns (Σ loss, correct)."""
    part = shard(rows, loop.env.rank, loop.env.world_size)
    mine = rows[part]
    x = loop.data.train_images[mine].to(loop.env.device, non_blocking=True)
    x = loop.data.normalise(augment(x, aug[part]))
    x = x.contiguous(memory_format=loop.layout)
    y = loop.data.train_labels[mine].to(loop.env.device, non_blocking=True)
    lr = lr_at(step, loop.total_steps, loop.options.lr, loop.options.warmup_fraction)
    for group in loop.optimizer.param_groups:
        group["lr"] = lr
    with torch.autocast(loop.env.device.type, loop.dtype, enabled=loop.dtype is not None):
        logits = loop.net(x)
        loss = loop.loss_fn(logits.float(), y, x)
    loop.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    loop.optimizer.step()
    return loss.detach() * len(y), (logits.argmax(1) == y).sum()


def _train_epoch(loop: _Loop, epoch: int) -> dict[str, float]:
    from tqdm.auto import tqdm

    loop.net.train()
    n, batch = len(loop.data.train_images), loop.options.batch_size
    steps = n // batch
    # Per-rank seed for what the model itself draws (dropout); batches use the epoch generator.
    torch.manual_seed(loop.options.seed * 1_000_003 + epoch * loop.env.world_size + loop.env.rank)
    batches = epoch_batches(
        n,
        batch,
        epoch_generator(loop.options.seed, epoch),
        loop.options.crop_padding,
        loop.options.flip,
        loop.env.world_size,
    )
    show = loop.options.progress and loop.env.is_main
    bar = tqdm(batches, total=steps, desc=f"epoch {epoch + 1}", disable=not show, leave=False)
    totals = torch.zeros(2, dtype=torch.float64, device=loop.env.device)  # Σ loss, Σ correct
    started = time.perf_counter()
    for i, (rows, aug) in enumerate(bar):
        loss_sum, correct = _step(loop, rows, aug, epoch * steps + i)
        totals += torch.stack([loss_sum.double(), correct.double()])
        if show and i % 20 == 0:
            bar.set_postfix(loss=f"{loss_sum.item() / (batch // loop.env.world_size):.3f}")
    if loop.env.world_size > 1:
        dist.all_reduce(totals)
    seen = steps * batch
    return {
        "epoch": float(epoch + 1),
        "loss": float(totals[0]) / seen,
        "accuracy": float(totals[1]) / seen,
        "lr_last": float(loop.optimizer.param_groups[0]["lr"]),
        "seconds": time.perf_counter() - started,
    }


def fit(
    model: nn.Module,
    data: ImageData,
    options: TrainOptions,
    loss_fn: LossFn | None = None,
    checkpoint_dir: Path | None = None,
) -> FitReport:
    """Train ``model`` on ``data.train_*``; checkpoint each epoch and resume from one if present.

    ``loss_fn(logits, targets, inputs)`` defaults to label-smoothed cross-entropy.
    Seed the model's initialisation before calling (DDP copies rank 0's weights).
    """
    env = setup_distributed()
    steps = len(data.train_images) // options.batch_size
    if steps == 0:
        raise ValueError(f"batch_size {options.batch_size} exceeds {len(data.train_images)} images")
    if env.device.type == "cuda":  # the whole uint8 training set fits: no copy per step
        data = replace(
            data,
            train_images=data.train_images.to(env.device),
            train_labels=data.train_labels.to(env.device),
        )
    net, compiled = _prepare(model, options, env)
    optimizer = make_optimizer(model, options)
    dtype = autocast_dtype(options.precision, env.device)
    loss = loss_fn or smoothed_cross_entropy(options.label_smoothing)
    layout = input_format(model)
    loop = _Loop(net, optimizer, loss, data, options, env, dtype, steps * options.epochs, layout)
    start, history = load_checkpoint(checkpoint_dir, model, optimizer, env.device)
    wall, cpu = time.perf_counter(), time.process_time()
    for epoch in range(start, options.epochs):
        history.append(_train_epoch(loop, epoch))
        if checkpoint_dir is not None:
            save_checkpoint(checkpoint_dir, model, optimizer, epoch + 1, history, env)
    return FitReport(
        model=model,
        history=history,
        epochs=options.epochs,
        train_seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
        images=(options.epochs - start) * steps * options.batch_size,
        precision="bf16" if dtype == torch.bfloat16 else "fp32",
        channels_last=layout == torch.channels_last,
        compiled=compiled,
        world_size=env.world_size,
        settings=asdict(options),
    )
