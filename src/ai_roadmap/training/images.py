"""Image classification data as tensors: dataset choice, normalisation, augmentation, batches.

The whole dataset lives in memory as uint8 tensors (N, C, H, W): 60 000 Fashion-MNIST
images take 47 MB, 50 000 CIFAR-10 images 154 MB. Each step takes a batch of
indices, augments the uint8 pixels on tensors (no per-image Python loop, no
DataLoader workers to start) and normalises per channel,

    x̂ = (x / 255 − μ_c) / σ_c,

with μ_c, σ_c the mean and standard deviation of channel c over the training images.

Augmentation (the standard CIFAR recipe, He et al. 2016 §4.2):

- random crop: pad each side by p pixels with zeros, then cut an H×W window at
  a uniformly drawn offset (dy, dx) ∈ {0 … 2p}²; the image moves by up to p
  pixels in each direction. Offset (p, p) is the identity.
- horizontal flip with probability ½: x'[…, j] = x[…, W − 1 − j].

Batches are drawn for the *global* batch (all DDP ranks together) from a
generator seeded by (seed, epoch); every rank draws the same permutation and the
same augmentation, then keeps its own contiguous slice. So N ranks with batch B/N
each see exactly the images one process would see with batch B, and a resumed run
redraws exactly the batches it would have drawn.

Dataset choice: ``cifar10`` reads the user's files (``$ROADMAP_DATA_DIR/cifar10``);
``fashion-mnist`` is the offline proxy (28×28 grey, 1 channel, same 10-class
shape of problem), named as such in :attr:`ImageData.dataset`; ``auto`` takes
CIFAR-10 when its files are present and the proxy otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ai_roadmap.errors import DataMissingError, UsageError

SOURCES = ("auto", "cifar10", "fashion-mnist")
PROXY_NAME = "fashion-mnist (proxy for cifar10)"
CIFAR10_MARKERS = (
    "data_batch_1",
    "data_batch_1.bin",
    "cifar-10-batches-py",
    "cifar-10-batches-bin",
    "cifar-10-python.tar.gz",
    "cifar-10-binary.tar.gz",
)


@dataclass
class ImageData:
    """Train and test images (uint8, (N, C, H, W)), int64 labels and the normalisation."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    mean: tuple[float, ...]  # μ_c of x / 255 over the training images
    std: tuple[float, ...]  # σ_c of x / 255 over the training images
    classes: tuple[str, ...]
    dataset: str  # e.g. "fashion-mnist (proxy for cifar10), 60 000 train / 10 000 test"
    proxy: bool

    @property
    def channels(self) -> int:
        return int(self.train_images.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) → float32 x̂ = (x / 255 − μ_c) / σ_c."""
        return normalise(images, self.mean, self.std)


def normalise(
    images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.Tensor:
    """(x / 255 − μ_c) / σ_c as one affine map x · a_c + b_c, a_c = 1/(255σ_c), b_c = −μ_c/σ_c."""
    shape = (1, -1, 1, 1)  # broadcast over (N, C, H, W)
    scale = torch.tensor([1.0 / (255.0 * s) for s in std], device=images.device).view(shape)
    shift = torch.tensor([-m / s for m, s in zip(mean, std, strict=True)], device=images.device)
    return images.float() * scale + shift.view(shape)


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and standard deviation of x / 255 over (N, H, W)."""
    x = images.double() / 255.0
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3), unbiased=False)
    return tuple(mean.tolist()), tuple(std.tolist())


# ── dataset choice ───────────────────────────────────────────────────────────────────


def cifar10_present() -> bool:
    """True when ``$ROADMAP_DATA_DIR/cifar10`` holds one of the official distributions."""
    from ai_roadmap.datasets.cifar10 import cifar10_root

    try:
        root: Path = cifar10_root()
    except DataMissingError:
        return False
    return any((root / name).exists() for name in CIFAR10_MARKERS)


def _subset(
    images: np.ndarray, labels: np.ndarray, n: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if n is None or n >= len(images):
        return images, labels
    chosen = np.sort(rng.permutation(len(images))[:n])
    return images[chosen], labels[chosen]


def _spaced(n: int) -> str:
    return f"{n:,}".replace(",", " ")  # 10 000, the way the rest of the roadmap writes counts


def _as_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(images))
    x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)  # (N,H,W[,C]) -> (N,C,H,W)
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))


def load_image_data(
    source: str = "auto", n_train: int | None = None, n_test: int | None = None, seed: int = 0
) -> ImageData:
    """The chosen dataset as tensors; ``n_train`` / ``n_test`` take random subsets."""
    if source not in SOURCES:
        raise UsageError(f"data.source must be one of {', '.join(SOURCES)}, got {source!r}")
    use_cifar = source == "cifar10" or (source == "auto" and cifar10_present())
    if use_cifar:
        from ai_roadmap.datasets.cifar10 import CLASSES, load_cifar10

        train_x, train_y, test_x, test_y = load_cifar10()
        name, proxy, look = "cifar10", False, "32×32 colour"
    else:
        from ai_roadmap.datasets.fashion_mnist import CLASSES, load_fashion_mnist

        train_x, train_y, test_x, test_y = load_fashion_mnist()
        name, proxy, look = PROXY_NAME, True, "28×28 grey"
    rng = np.random.default_rng(seed)
    train_x, train_y = _subset(train_x, train_y, n_train, rng)
    test_x, test_y = _subset(test_x, test_y, n_test, rng)
    train_images, train_labels = _as_tensors(train_x, train_y)
    test_images, test_labels = _as_tensors(test_x, test_y)
    mean, std = channel_stats(train_images)
    described = (
        f"{name}, {_spaced(len(train_x))} train / {_spaced(len(test_x))} test images, {look}"
    )
    return ImageData(
        train_images,
        train_labels,
        test_images,
        test_labels,
        mean,
        std,
        tuple(CLASSES),
        described,
        proxy,
    )


# ── augmentation on tensors ──────────────────────────────────────────────────────────


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
