"""Overlays: test scenes beside their true and predicted masks, as one PNG grid.

Each row is one scene: the image, the image with the true mask blended in (α = 0.5,
one colour per class, background left as is) and the same with the prediction, with a
one-pixel outline of each class region so small objects stay visible.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# background, then one colour per class (RGB)
PALETTE = np.array(
    [[0, 0, 0], [255, 170, 0], [40, 200, 255], [230, 40, 200], [80, 230, 80], [255, 255, 80]],
    np.uint8,
)


def blend(image: np.ndarray, mask: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image with every non-background pixel tinted by its class colour."""
    colours = PALETTE[mask % len(PALETTE)].astype(np.float32)
    out = image.astype(np.float32)
    fg = mask > 0
    out[fg] = (1 - alpha) * out[fg] + alpha * colours[fg]
    edge = np.zeros_like(fg)
    edge[:-1] |= mask[:-1] != mask[1:]
    edge[:, :-1] |= mask[:, :-1] != mask[:, 1:]
    out[edge] = colours[edge]
    return np.clip(out, 0, 255).astype(np.uint8)


def overlay_grid(images: np.ndarray, true: np.ndarray, pred: np.ndarray, path: Path) -> Path:
    """Rows of (image | true mask | predicted mask), written atomically as a PNG."""
    import cv2

    gap = 4
    rows = []
    for image, t, p in zip(images, true, pred, strict=True):
        pad = np.full((image.shape[0], gap, 3), 255, np.uint8)
        rows.append(np.hstack([image, pad, blend(image, t), pad, blend(image, p)]))
        rows.append(np.full((gap, rows[-1].shape[1], 3), 255, np.uint8))
    grid = np.vstack(rows[:-1])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    if not cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    os.replace(tmp, path)
    return path
