"""Where a training process runs: its rank under torchrun, its device, precision and layout.

Started by ``torchrun --nproc_per_node N``, a process reads RANK / WORLD_SIZE /
LOCAL_RANK and joins the process group (gloo on CPU, NCCL on GPU). bf16 autocast is
used where the hardware computes in bf16 (any CUDA GPU since Ampere, CPUs with
AVX512-BF16 or AMX); elsewhere fp32, since *emulated* bf16 is far slower. Channels-last
memory (N, H, W, C) is what oneDNN's and cuDNN's fastest convolutions read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn


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


def input_format(model: nn.Module) -> torch.memory_format:
    """channels_last when the model's conv weights are stored that way: feed inputs alike."""
    for p in model.parameters():
        if p.ndim == 4 and not p.is_contiguous():
            return torch.channels_last
    return torch.contiguous_format
