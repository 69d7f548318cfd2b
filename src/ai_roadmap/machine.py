"""What a run ran on: CPU model, cores, the instruction sets that matter here, and the GPU.

Read from ``/proc/cpuinfo`` and, only when the milestone has already imported torch, from
``torch.cuda``: describing the machine never imports a heavy library. Every recorded run
carries this text (tag ``roadmap.hardware``), so a figure is always read beside its machine.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

# Instruction sets that change the speed of the project's kernels (bf16, int8, AMX).
FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """The CPU's model name and instruction-set flags (``/proc/cpuinfo``; else the arch)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags |= set(value.split())
    except OSError:
        pass
    return model, flags


def cpu() -> str:
    """``"<model name> (<n> cores; avx2, avx512f, …)"``; a non-Linux machine gives its arch."""
    model, flags = cpu_model_and_flags()
    features = [name for name in FEATURES if name in flags]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model} ({cores} cores; {', '.join(features) or 'no avx2'})"


def gpu() -> str | None:
    """The CUDA device's name when torch is loaded and sees one, else ``None``."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_available():
            return str(torch.cuda.get_device_name(0))
    except Exception:  # a broken CUDA install is "no GPU" for the record, not a failed run
        return None
    return None


def describe() -> str:
    """The CPU and, when there is one, the GPU: the text a result is reported with."""
    name = gpu()
    return cpu() + (f"; GPU {name}" if name else "; no GPU")
