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
- Random-crop + flip augmentation on tensors (:mod:`ai_roadmap.training.images`).
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

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.training.images import (
    Augmentation,
    ImageData,
    augment,
    epoch_batches,
    epoch_generator,
    shard,
)

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
CHECKPOINT_FILE = "checkpoint.pt"
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


def options_from_config(cfg: Any, data: ImageData) -> TrainOptions:
    """A run's ``train`` block as :class:`TrainOptions`; crop padding depends on the dataset."""
    padding = cfg.data.crop_padding["fashion_mnist" if data.proxy else "cifar10"]
    knobs = {key: value for key, value in cfg.train.items()}
    return TrainOptions(**knobs, crop_padding=int(padding), seed=int(cfg.seed))


# ── hardware and process group ───────────────────────────────────────────────────────


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job: rank r of N, and the device it trains on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed() -> Distributed:
    """Read torchrun's env vars; join the process group (NCCL on GPU, gloo on CPU) if N > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Distributed(rank, world, local, device)


def cpu_has_native_bf16() -> bool:
    """oneDNN runs bf16 here *and* the CPU has bf16 instructions (AVX512-BF16 or AMX).

    Without them oneDNN either refuses bf16 or emulates it; on an AVX2 CPU a bf16
    matmul measured 60× slower than fp32, so bf16 is only worth it natively.
    """
    try:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    except (AttributeError, RuntimeError):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: trust oneDNN's answer
        return True
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bfloat16 when asked for, or under ``auto`` when the device computes it natively."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if cpu_has_native_bf16() else None


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


def channels_last_is_safe(model: nn.Module, device: torch.device) -> bool:
    """False on CPU for a strided 1×1 conv with < 8 input channels.

    In torch 2.13 on CPU the weight gradient of such a conv in channels-last
    layout corrupts the heap (the process aborts); only width-reduced test models
    have one, and they fall back to the default layout.
    """
    return device.type != "cpu" or not any(
        isinstance(m, nn.Conv2d)
        and m.kernel_size == (1, 1)
        and m.stride != (1, 1)
        and m.in_channels < 8
        for m in model.modules()
    )


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


# ── checkpoints ──────────────────────────────────────────────────────────────────────


def save_checkpoint(
    folder: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    epochs_done: int,
    history: list[dict[str, float]],
    env: Distributed,
) -> None:
    """Rank 0 writes weights, optimizer state (momentum buffers) and history, atomically.

    Nothing else is needed to resume exactly: the schedule is a function of the
    step, and each epoch's batches, augmentation and dropout seeds of (seed, epoch).
    """
    if env.is_main:
        folder.mkdir(parents=True, exist_ok=True)
        state = {
            "epochs_done": epochs_done,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "history": history,
        }
        tmp = folder / (CHECKPOINT_FILE + ".tmp")
        torch.save(state, tmp)
        os.replace(tmp, folder / CHECKPOINT_FILE)
    if env.world_size > 1:
        dist.barrier()  # no rank runs ahead of a checkpoint it might resume from


def load_checkpoint(
    folder: Path | None, model: nn.Module, optimizer: torch.optim.Optimizer, device: torch.device
) -> tuple[int, list[dict[str, float]]]:
    """(epochs already done, their history); (0, []) when there is no checkpoint."""
    path = None if folder is None else folder / CHECKPOINT_FILE
    if path is None or not path.exists():
        return 0, []
    state = torch.load(path, map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epochs_done"]), list(state["history"])


# ── evaluation ───────────────────────────────────────────────────────────────────────


def input_format(model: nn.Module) -> torch.memory_format:
    """channels_last when the model's conv weights are stored that way: feed inputs alike."""
    for p in model.parameters():
        if p.ndim == 4 and not p.is_contiguous():
            return torch.channels_last
    return torch.contiguous_format


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    *,
    normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tta: bool = True,
    batch_size: int = 500,
    dtype: torch.dtype | None = None,
    rows: range | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(row indices, argmax_k z_k(x), argmax_k [z_k(x) + z_k(flip(x))]) in eval mode.

    ``images`` are uint8 with ``normalise`` given, else already-normalised floats;
    ``rows`` are the batch starts to score (default: all of them). Without ``tta``
    the third tensor equals the second. The model's train/eval mode is restored.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    layout = input_format(model)
    index, plain, flipped_too = [], [], []
    for start in rows if rows is not None else range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)
        x = (normalise(x) if normalise else x.float()).contiguous(memory_format=layout)
        with torch.autocast(device.type, dtype, enabled=dtype is not None):
            logits = model(x).float()
            flipped = model(x.flip(-1)).float() if tta else logits
        index.append(torch.arange(start, start + len(x), device=device))
        plain.append(logits.argmax(1))
        flipped_too.append((logits + flipped).argmax(1))
    model.train(was_training)
    empty = torch.zeros(0, dtype=torch.long, device=device)
    return tuple(torch.cat(t) if t else empty for t in (index, plain, flipped_too))  # type: ignore[return-value]


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tta: bool = True,
    batch_size: int = 500,
    dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Accuracy, and with ``tta`` also accuracy of argmax_k [z_k(x) + z_k(flip(x))].

    ``images`` are uint8 with ``normalise`` given, else already-normalised floats.
    Under DDP each rank scores its 1/N of the images and the counts are summed.
    """
    world, rank = (dist.get_world_size(), dist.get_rank()) if dist.is_initialized() else (1, 0)
    mine = range(rank * batch_size, len(images), world * batch_size)
    rows, pred, pred_tta = predict(
        model, images, normalise=normalise, tta=tta, batch_size=batch_size, dtype=dtype, rows=mine
    )
    y = labels.to(rows.device)[rows]
    counts = torch.stack([(pred == y).sum(), (pred_tta == y).sum(), torch.tensor(len(y))])
    counts = counts.double()
    if world > 1:
        dist.all_reduce(counts)
    result = {"accuracy": float(counts[0] / counts[2])}
    if tta:
        result["accuracy_tta"] = float(counts[1] / counts[2])
    return result


# ── the trained model's card ─────────────────────────────────────────────────────────


def image_model_card(name: str, data: ImageData, metrics: dict[str, float]) -> ModelCard:
    """The card of an image classifier: input shape, the normalisation it expects, classes."""
    image = {
        "type": "image",
        "dtype": "uint8",
        "shape": [data.channels, data.image_size, data.image_size],
        "mean": list(data.mean),
        "std": list(data.std),
    }
    return ModelCard(
        name=name,
        task="classification",
        target="label",
        input_schema={"image": image},
        metrics=metrics,
        classes=list(data.classes),
    )


def torchrun_main(item_id: str, run: Callable[[Any], Any], argv: list[str] | None = None) -> int:
    """``torchrun … -m <module> --scale S --out DIR [overrides]``: rank 0 prints the figures."""
    import argparse

    from ai_roadmap.config import compose

    parser = argparse.ArgumentParser(description=f"{item_id} under torchrun (or alone)")
    parser.add_argument("--scale", default="quick")
    parser.add_argument("--out", type=Path, default=Path("runs") / item_id)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    cfg = compose(item_id, args.scale, args.overrides)
    cfg.output_dir = str(args.out)
    result = run(cfg)
    if not dist.is_initialized() or dist.get_rank() == 0:
        figures = {"dataset": result.dataset, **result.metrics}
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0
