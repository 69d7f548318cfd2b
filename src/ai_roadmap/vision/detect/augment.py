"""Training-time augmentation for detection: flip, zoom/shift, HSV jitter, cutout.

Validation and test scenes show stamp *pictures* the training scenes never show, so
what the detector must not learn is the exact look of a training picture: its colours,
its size on the frame, every pixel of it being visible. Each training image is
changed at random, and its boxes with it:

* **flip** (p = 0.5): ``x ↦ W − x``, so a box (x1, x2) becomes (W − x2, W − x1);
* **zoom and shift**: ``p' = s·(p − c) + c + t`` with ``s ∈ [1 − z, 1 + z]``, ``t``
  uniform in ``±shift·W``, about the centre c; the uncovered border is grey (114).
  Each box's corners move with the same map and are clipped to the frame; a box whose
  clipped area is below ``min_kept`` of its mapped area, or narrower than 2 px, is
  dropped (its object has mostly left the frame);
* **HSV jitter** (YOLO's recipe): hue shifted by ``±hue`` of the circle, saturation and
  value multiplied by ``1 ± saturation`` and ``1 ± value`` — a picture of a fruit in
  other colours is still a fruit;
* **object colour** (training scenes only, from their instance maps): each pasted
  object gets its *own* hue shift and saturation/value gains (``±object_hue``,
  ``1 ± object_sv``), so one picture is seen in many colourings while its background
  keeps its own;
* **cutout**: with probability ``cutout``, one grey rectangle of 10–30 % of the side is
  painted at random; boxes stay (the object is partly hidden, as occlusion does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GREY = 114
Targets = list[tuple[np.ndarray, np.ndarray]]  # per image: boxes (m, 4), labels (m,)


@dataclass(frozen=True)
class Augment:
    """Strength of each augmentation; zero switches one off."""

    flip: bool = True
    zoom: float = 0.0  # scale in [1 − zoom, 1 + zoom]
    shift: float = 0.0  # translation, fraction of the side
    hue: float = 0.0  # fraction of the hue circle, ±
    saturation: float = 0.0  # gain in [1 − s, 1 + s]
    value: float = 0.0  # gain in [1 − v, 1 + v]
    colour: float = 0.0  # per-channel RGB gain in [1 − c, 1 + c]
    cutout: float = 0.0  # probability of one grey rectangle
    object_hue: float = 0.0  # per-object hue shift, fraction of the circle, ±
    object_sv: float = 0.0  # per-object saturation and value gains in [1 − o, 1 + o]
    min_kept: float = 0.4  # fraction of a moved box that must stay inside the frame


def flip_boxes(boxes: np.ndarray, width: int) -> np.ndarray:
    """Mirror (x1, y1, x2, y2) boxes left–right in an image ``width`` px wide."""
    return np.stack((width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]), 1)


def affine_boxes(
    boxes: np.ndarray, labels: np.ndarray, matrix: np.ndarray, size: int, min_kept: float
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes under ``p' = A p + b`` (no rotation), clipped; mostly-outside ones dropped."""
    a, b = matrix[:, :2], matrix[:, 2]
    lo = boxes[:, :2] * np.diag(a) + b
    hi = boxes[:, 2:] * np.diag(a) + b
    moved = np.concatenate((np.minimum(lo, hi), np.maximum(lo, hi)), 1)
    clipped = np.clip(moved, 0, size)
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    keep = (kept_area >= min_kept * np.maximum(area, 1e-9)) & (
        np.minimum(clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]) >= 2
    )
    return clipped[keep].astype(np.float32), labels[keep]


def zoom_shift(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    aug: Augment,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale about the centre and translate; the uncovered border is grey."""
    import cv2

    size = image.shape[0]
    s = rng.uniform(1 - aug.zoom, 1 + aug.zoom)
    tx, ty = rng.uniform(-aug.shift, aug.shift, size=2) * size
    c = size / 2
    matrix = np.array([[s, 0, c - s * c + tx], [0, s, c - s * c + ty]], np.float32)
    out = cv2.warpAffine(
        image,
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(GREY, GREY, GREY),
    )
    boxes, labels = affine_boxes(boxes, labels, matrix, size, aug.min_kept)
    return out, boxes, labels


def hsv_jitter(image: np.ndarray, aug: Augment, rng: np.random.Generator) -> np.ndarray:
    """Shift hue, scale saturation and value (OpenCV's 8-bit HSV: hue in 0..179)."""
    import cv2

    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-aug.hue, aug.hue) * 180) % 180
    hsv[..., 1] *= rng.uniform(1 - aug.saturation, 1 + aug.saturation)
    hsv[..., 2] *= rng.uniform(1 - aug.value, 1 + aug.value)
    hsv = np.clip(hsv, 0, [179, 255, 255]).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def object_colour(
    image: np.ndarray, instances: np.ndarray, aug: Augment, rng: np.random.Generator
) -> np.ndarray:
    """Per object k (``instances == k``): its own hue shift, saturation and value gains."""
    import cv2

    n = int(instances.max())
    if n == 0:
        return image
    shift = np.concatenate(([0.0], rng.uniform(-aug.object_hue, aug.object_hue, n) * 180))
    gains = np.concatenate(
        (np.ones((1, 2)), rng.uniform(1 - aug.object_sv, 1 + aug.object_sv, (n, 2)))
    )
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + shift[instances]) % 180
    hsv[..., 1:] *= gains[instances]
    hsv = np.clip(hsv, 0, [179, 255, 255]).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def cutout(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One grey rectangle, each side 10–30 % of the image's, at a random place."""
    size = image.shape[0]
    h, w = (rng.uniform(0.1, 0.3, size=2) * size).astype(int)
    y, x = int(rng.integers(0, size - h + 1)), int(rng.integers(0, size - w + 1))
    image = image.copy()
    image[y : y + h, x : x + w] = GREY
    return image


def augment_one(
    image: np.ndarray,
    boxes: np.ndarray,
    labels: np.ndarray,
    aug: Augment,
    rng: np.random.Generator,
    instances: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One square uint8 RGB image and its boxes, changed at random as ``aug`` says."""
    if instances is not None and (aug.object_hue > 0 or aug.object_sv > 0):
        image = object_colour(image, instances, aug, rng)
    if aug.flip and rng.random() < 0.5:
        image, boxes = np.ascontiguousarray(image[:, ::-1]), flip_boxes(boxes, image.shape[1])
    if aug.zoom > 0 or aug.shift > 0:
        image, boxes, labels = zoom_shift(image, boxes, labels, aug, rng)
    if aug.hue > 0 or aug.saturation > 0 or aug.value > 0:
        image = hsv_jitter(image, aug, rng)
    if aug.colour > 0:
        gain = rng.uniform(1 - aug.colour, 1 + aug.colour, size=3)
        image = np.clip(image * gain, 0, 255).astype(np.uint8)
    if aug.cutout > 0 and rng.random() < aug.cutout:
        image = cutout(image, rng)
    return image, boxes.astype(np.float32), labels


def augment(
    images: np.ndarray,
    targets: Targets,
    aug: Augment,
    rng: np.random.Generator,
    instances: np.ndarray | None = None,
) -> tuple[np.ndarray, Targets]:
    """A batch (B, S, S, 3) uint8 and its targets, each image augmented independently."""
    out_images = np.empty_like(images)
    out_targets = []
    for i, (boxes, labels) in enumerate(targets):
        maps = None if instances is None else instances[i]
        out_images[i], b, lab = augment_one(images[i], boxes, labels, aug, rng, maps)
        out_targets.append((b, lab))
    return out_images, out_targets
