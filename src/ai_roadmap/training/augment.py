"""Augmentation and batches on uint8 image tensors: no per-image Python loop, no workers.

The standard CIFAR recipe (He et al. 2016 §4.2):

- random crop: pad each side by p pixels with zeros, then cut an H×W window at
  a uniformly drawn offset (dy, dx) ∈ {0 … 2p}²; the image moves by up to p
  pixels in each direction. Offset (p, p) is the identity.
- horizontal flip with probability ½: x'[…, j] = x[…, W − 1 − j].

Batches are drawn for the *global* batch (all DDP ranks together) from a
generator seeded by (seed, epoch); every rank draws the same permutation and the
same augmentation, then keeps its own contiguous slice. So N ranks with batch B/N
each see exactly the images one process would see with batch B, and a resumed run
redraws exactly the batches it would have drawn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Augmentation:
    """Per-image crop offsets (dy, dx) ∈ {0 … 2p} and flip flags for one batch."""

    dy: torch.Tensor  # (N,) int64
    dx: torch.Tensor  # (N,) int64
    flip: torch.Tensor  # (N,) bool
    padding: int

    def __getitem__(self, rows: slice) -> Augmentation:
        return Augmentation(self.dy[rows], self.dx[rows], self.flip[rows], self.padding)


def draw_augmentation(n: int, padding: int, flip: bool, generator: torch.Generator) -> Augmentation:
    """Offsets uniform on {0 … 2p}² and flips with probability ½ (none when ``flip`` is off)."""
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    flips = torch.rand(n, generator=generator) < 0.5
    return Augmentation(dy, dx, flips & flip, padding)


def random_crop(
    images: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, padding: int
) -> torch.Tensor:
    """out[n, c, i, j] = pad(x)[n, c, dy_n + i, dx_n + j]: a window of the zero-padded image."""
    if padding == 0:
        return images
    n, c, h, w = images.shape
    padded = F.pad(images, (padding, padding, padding, padding))  # (N, C, H+2p, W+2p)
    rows = dy.to(images.device)[:, None] + torch.arange(h, device=images.device)  # (N, H)
    cols = dx.to(images.device)[:, None] + torch.arange(w, device=images.device)  # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    chan = torch.arange(c, device=images.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]  # (N, C, H, W)


def augment(images: torch.Tensor, aug: Augmentation) -> torch.Tensor:
    """Random crop then horizontal flip of the images whose flag is set."""
    out = random_crop(images, aug.dy, aug.dx, aug.padding)
    mask = aug.flip.to(images.device)[:, None, None, None]
    return torch.where(mask, out.flip(-1), out)


# ── batches and shards ───────────────────────────────────────────────────────────────


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of one epoch's order and augmentation; the same on every rank."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def shard(rows: torch.Tensor, rank: int, world_size: int) -> slice:
    """Rank r's contiguous part [r·b, (r+1)·b) of a global batch, b = len / world_size."""
    if len(rows) % world_size:
        raise ValueError(f"global batch {len(rows)} is not divisible by {world_size} ranks")
    local = len(rows) // world_size
    return slice(rank * local, (rank + 1) * local)


def epoch_batches(
    n: int,
    batch_size: int,
    generator: torch.Generator,
    padding: int,
    flip: bool,
    world_size: int = 1,
) -> Iterator[tuple[torch.Tensor, Augmentation]]:
    """(global indices, augmentation) per step of one epoch; the last partial batch is dropped.

    Dropping it keeps every step's batch the same size (so every rank holds the
    same number of images); at most ``batch_size − 1`` images sit out an epoch,
    different ones each epoch.
    """
    if batch_size % world_size:
        raise ValueError(f"batch_size {batch_size} must be a multiple of {world_size} ranks")
    order = torch.randperm(n, generator=generator)
    for start in range(0, n - batch_size + 1, batch_size):
        rows = order[start : start + batch_size]
        yield rows, draw_augmentation(batch_size, padding, flip, generator)
