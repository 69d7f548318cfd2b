"""s3.resnet18: ResNet-18 training speed on this CPU beside the matmul throughput it could reach.

Rows:

- ``gemm_fp32`` / ``gemm_bf16``: C = A·B for n×n matrices, 2n³ FLOPs per product,
  repeated for at least a second; GFLOP/s of wall time.
- ``train_plain`` / ``train_channels_last`` / ``train_channels_last_bf16``: SGD steps
  (forward, backward, Nesterov update) of ResNet-18 (CIFAR stem, 10 classes) on
  random 3×32×32 batches of 128; 1 warm-up step, then the median of 3 timed steps.
  Effective GFLOP/s = images/s × 6 × MACs / 10⁹, where MACs = multiply-accumulates
  of one forward pass (555 M) and a training step costs ≈ 3 forward passes of
  2 FLOPs per MAC; ``fraction_of_gemm`` divides it by the GEMM row of the same dtype.

bf16 rows run only where the CPU computes bf16 natively (AVX512-BF16 / AMX): on
others oneDNN emulates it and a ResNet-18 step takes minutes. ``cpu_utilisation``
= process CPU time / (wall time × threads): below 1 when other processes share the
cores, and then the wall-time figures understate the machine. The ``_per_core``
columns divide by CPU time instead (work per busy core-second), which other
processes disturb far less; ``fraction_per_core`` compares those.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F

from ai_roadmap.training.hardware import cpu_has_native_bf16
from ai_roadmap.vision.resnet import count_multiply_accumulates, resnet18

BATCH, SIZE, CLASSES = 128, 32, 10
TIMED_STEPS = 3


def _utilisation(wall: float, cpu: float) -> float:
    return cpu / max(wall * torch.get_num_threads(), 1e-9)


def gemm(dtype: torch.dtype, n: int, min_seconds: float = 1.0) -> dict[str, Any]:
    """GFLOP/s of n×n matmuls in ``dtype``."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(dtype)
    b = torch.randn(n, n, generator=g).to(dtype)
    a @ b  # warm-up: oneDNN / BLAS picks its kernel
    reps, wall, cpu = 0, time.perf_counter(), time.process_time()
    while reps == 0 or time.perf_counter() - wall < min_seconds:
        a @ b
        reps += 1
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "name": f"gemm_{'bf16' if dtype == torch.bfloat16 else 'fp32'}",
        "what": f"{n}×{n} matmul × {reps}",
        "gflops": 2 * n**3 * reps / seconds / 1e9,
        "gflops_per_core": 2 * n**3 * reps / cpu_seconds / 1e9,
        "cpu_utilisation": _utilisation(seconds, cpu_seconds),
    }


def train_speed(channels_last: bool, bf16: bool) -> dict[str, Any]:
    """Images/s of ResNet-18 training steps at 32×32, batch 128."""
    torch.manual_seed(0)
    model = resnet18(3, CLASSES)
    x = torch.randn(BATCH, 3, SIZE, SIZE)
    y = torch.randint(0, CLASSES, (BATCH,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    walls, cpus = [], []
    for step in range(1 + TIMED_STEPS):
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step > 0:
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    seconds = statistics.median(walls)
    cpu_seconds = statistics.median(cpus)
    name = "train_" + ("channels_last" if channels_last else "plain") + ("_bf16" if bf16 else "")
    return {
        "name": name,
        "what": f"ResNet-18 SGD step, {BATCH}×3×{SIZE}×{SIZE}",
        "images_per_second": BATCH / seconds,
        "images_per_core_second": BATCH / cpu_seconds,
        "cpu_utilisation": _utilisation(sum(walls), sum(cpus)),
    }


def run() -> list[dict[str, Any]]:
    native_bf16 = cpu_has_native_bf16()
    fp32 = gemm(torch.float32, 1024, min_seconds=3.0)
    # Emulated bf16 runs at well under 1 GFLOP/s: a smaller product keeps the row to seconds.
    bf16 = gemm(torch.bfloat16, 1024 if native_bf16 else 384)
    flops_per_image = 6 * count_multiply_accumulates(resnet18(3, CLASSES), (3, SIZE, SIZE))
    rows = [fp32, bf16]
    for channels_last, use_bf16 in ((False, False), (True, False), (True, True)):
        if use_bf16 and not native_bf16:
            rows.append(
                {
                    "name": "train_channels_last_bf16",
                    "what": "skipped: no native bf16 on this CPU (fp32 is the fast path here)",
                }
            )
            continue
        row = train_speed(channels_last, use_bf16)
        reference = bf16 if use_bf16 else fp32
        row["gflops"] = row["images_per_second"] * flops_per_image / 1e9
        row["gflops_per_core"] = row["images_per_core_second"] * flops_per_image / 1e9
        row["fraction_of_gemm"] = row["gflops"] / reference["gflops"]
        row["fraction_per_core"] = row["gflops_per_core"] / reference["gflops_per_core"]
        rows.append(row)
    for row in rows:
        row["threads"] = torch.get_num_threads()
        row["native_bf16"] = native_bf16
    return rows
