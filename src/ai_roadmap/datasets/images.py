"""Image classification data as tensors: dataset choice, subsets, per-channel normalisation.

The whole dataset lives in memory as uint8 tensors (N, C, H, W): 60 000 Fashion-MNIST
images take 47 MB, 50 000 CIFAR-10 images 154 MB. A training step normalises each
batch per channel,

    x̂ = (x / 255 − μ_c) / σ_c,

with μ_c, σ_c the mean and standard deviation of channel c over the training images
(augmentation and batches: :mod:`ai_roadmap.training.augment`).

Dataset choice: ``cifar10`` reads the user's files (``$ROADMAP_DATA_DIR/cifar10``);
``fashion-mnist`` is the offline proxy (28×28 grey, 1 channel, same 10-class
shape of problem), named as such in :attr:`ImageData.dataset`; ``auto`` takes
CIFAR-10 when its files are present and the proxy otherwise. :class:`ImageSource`
is the ``data`` section of the runs that train on these images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

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


# ── the ``data`` section of a run ────────────────────────────────────────────────────


@dataclass(frozen=True)
class ImageSource:
    """Which images a run trains on, how many, and the crop padding for each dataset."""

    source: str = "auto"  # auto | cifar10 | fashion-mnist (auto: CIFAR-10 if present)
    n_train: int | None = None  # random training subset; None = all
    n_test: int | None = None  # random test subset; None = all 10 000
    subset_seed: int = 0
    crop_padding: dict[str, int] = field(default_factory=lambda: {"cifar10": 4, "fashion_mnist": 2})

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(
                f"data.source must be one of {', '.join(SOURCES)}, got {self.source!r}"
            )

    def load(self) -> ImageData:
        return load_image_data(self.source, self.n_train, self.n_test, seed=self.subset_seed)

    def padding_for(self, data: ImageData) -> int:
        """p of the pad-then-crop augmentation for the dataset actually loaded."""
        return int(self.crop_padding["fashion_mnist" if data.proxy else "cifar10"])
