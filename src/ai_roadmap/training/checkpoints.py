"""Resumable training: one atomic checkpoint file per run folder, written by rank 0."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from ai_roadmap.training.hardware import Distributed

CHECKPOINT_FILE = "checkpoint.pt"


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
