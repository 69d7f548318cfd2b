"""TensorRT FP16: each machine says in one line why it cannot build the engine, or builds it."""

from __future__ import annotations

import builtins
import sys

import pytest
import torch

from ai_roadmap.deploy.tensorrt import unavailable


def test_without_a_gpu_the_reason_is_the_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert unavailable() == "no CUDA GPU on this machine (TensorRT FP16 needs an NVIDIA GPU)"


def test_with_a_gpu_but_no_tensorrt_the_reason_is_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_tensorrt(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "tensorrt":
            raise ImportError("No module named 'tensorrt'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.delitem(sys.modules, "tensorrt", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_tensorrt)
    reason = unavailable()
    assert reason is not None and "pip install tensorrt-cu12" in reason and "\n" not in reason
