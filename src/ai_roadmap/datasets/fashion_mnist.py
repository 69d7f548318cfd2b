"""Fashion-MNIST: 60 000 training and 10 000 test images of clothing, 28×28 grey, 10 classes.

It comes from Debian's ``dataset-fashion-mnist`` package in the IDX format of the
original MNIST files: a big-endian header (magic ``0x0000 08 0D``, where ``08`` is
the uint8 type and ``0D`` the number of dimensions, then one uint32 per dimension)
followed by the raw bytes. Converted once to ``fashion-mnist.npz``.

It is this project's offline stand-in for CIFAR-10 (same 10-class, small-image
shape of problem; CIFAR-10 itself is in no registry these machines reach).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from ai_roadmap.datasets import require
from ai_roadmap.errors import DataFormatError

MEMBER = "./usr/share/datasets/fashion-mnist/{name}"
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzip-compressed) as a uint8 array of its declared shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataFormatError(f"{path.name} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataFormatError(f"{path.name}: header says {shape}, found {body.size} bytes")
    return body.reshape(shape)


def convert(members: dict[str, Path], out: Path) -> None:
    def part(name: str) -> np.ndarray:
        return read_idx(members[MEMBER.format(name=name)])

    np.savez_compressed(
        out / "fashion-mnist.npz",
        train_images=part("train-images-idx3-ubyte.gz"),
        train_labels=part("train-labels-idx1-ubyte.gz"),
        test_images=part("t10k-images-idx3-ubyte.gz"),
        test_labels=part("t10k-labels-idx1-ubyte.gz"),
    )


def load_fashion_mnist() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train_images, train_labels, test_images, test_labels)``: uint8, images (N, 28, 28)."""
    with np.load(require("fashion-mnist") / "fashion-mnist.npz") as data:
        return (
            data["train_images"],
            data["train_labels"],
            data["test_images"],
            data["test_labels"],
        )
