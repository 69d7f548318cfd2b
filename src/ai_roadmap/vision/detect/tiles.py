"""Tiles of large aerial images with their boxes, for the DeepForest tree check.

A box cut by a tile's edge is kept, clipped to the tile, when at least ``keep`` of its
area lies inside; smaller slivers are dropped (their pixels stay in the picture).
"""

from __future__ import annotations

import numpy as np


def tile_image(
    image: np.ndarray, boxes: np.ndarray, size: int, stride: int, keep: float = 0.5
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(tiles (size, size, 3), boxes per tile (m, 4)) on a grid; edges padded with black."""
    h, w = image.shape[:2]
    padded = np.zeros((max(h, size), max(w, size), 3), np.uint8)
    padded[:h, :w] = image
    ys = list(range(0, max(h - size, 0) + 1, stride)) or [0]
    xs = list(range(0, max(w - size, 0) + 1, stride)) or [0]
    if ys[-1] + size < h:
        ys.append(h - size)
    if xs[-1] + size < w:
        xs.append(w - size)
    tiles, tile_boxes = [], []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for y in ys:
        for x in xs:
            clipped = np.clip(boxes - [x, y, x, y], 0, size)
            inside = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
            tiles.append(padded[y : y + size, x : x + size])
            tile_boxes.append(clipped[inside >= keep * np.maximum(area, 1e-9)].astype(np.float32))
    return tiles, tile_boxes


def pad_to_multiple(image: np.ndarray, multiple: int = 32) -> np.ndarray:
    """The image padded with black at the right and bottom to a multiple of ``multiple``."""
    h, w = image.shape[:2]
    out = np.zeros((-(-h // multiple) * multiple, -(-w // multiple) * multiple, 3), np.uint8)
    out[:h, :w] = image
    return out
