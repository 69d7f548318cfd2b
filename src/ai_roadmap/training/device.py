"""The device a run asks for: ``auto`` is CUDA where PyTorch sees a GPU, else the CPU."""

from __future__ import annotations


def resolve_device(wanted: str) -> str:
    """``"auto"`` → ``"cuda"`` or ``"cpu"``; any other name is returned as given."""
    if wanted != "auto":
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
