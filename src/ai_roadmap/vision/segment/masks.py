"""Semantic masks from the scenes' instance maps, and boxes from masks.

A scene's instance map holds k at the pixels where its k-th pasted object is seen. With
the class c_k of instance k, the semantic mask is ``lut[instances]`` where
``lut = [0, c_1 + 1, c_2 + 1, …]``: 0 = background, class c ↦ c + 1.
"""

from __future__ import annotations

import numpy as np

from ai_roadmap.vision.scenes import Split


def instance_classes(split: Split, i: int) -> np.ndarray:
    """``lut`` of scene ``i``: lut[0] = 0 (background), lut[k] = 1 + class of instance k."""
    return np.concatenate([[0], split.label[split.scene == i] + 1]).astype(np.uint8)


def semantic_mask(instances: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """(H, W) uint8 semantic labels of one (possibly transformed) instance map."""
    return lut[instances]


def semantic_masks(split: Split) -> np.ndarray:
    """(N, H, W) uint8 semantic labels of every scene of ``split``."""
    out = np.empty_like(split.instances)
    for i in range(len(split)):
        out[i] = semantic_mask(split.instances[i], instance_classes(split, i))
    return out


def mask_box(mask: np.ndarray) -> np.ndarray | None:
    """x1, y1, x2, y2 (pixel edges, x2/y2 exclusive) of the True pixels; None when empty."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
