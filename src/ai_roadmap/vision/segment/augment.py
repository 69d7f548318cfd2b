"""Albumentations pipelines that move an image, its instance map and its boxes together.

The *instance* map (0 = background, k = the scene's k-th object) is what is transformed,
with nearest-neighbour interpolation (labels are never blended), and each box carries
its instance number as its label, so after any geometric transform box k and the pixels
== k still describe the same object: the semantic mask is then a lookup
``classes[instances]`` (:func:`ai_roadmap.vision.segment.masks.semantic_mask`).

* **strong**: horizontal flip; affine (scale, shift, rotation; borders filled with 0 =
  background in the mask); random resized crop; brightness/contrast, hue/saturation;
  Gaussian blur or noise; ``CoarseDropout`` (holes filled with 0 in the image *and* in
  the mask: like the scenes' own occlusion, a hidden pixel shows no object, and
  Albumentations shrinks the boxes to their uncovered part, so boxes and masks agree).
* **light**: horizontal flip only.

Albumentations is imported inside the functions (``NO_ALBUMENTATIONS_UPDATE=1`` first:
it would otherwise look for a newer version online).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

KINDS = ("strong", "light", "none")


@dataclass(frozen=True)
class StrongAugment:
    """Probabilities and ranges of the strong pipeline."""

    flip: float = 0.5
    affine: float = 0.7
    scale: tuple[float, float] = (0.75, 1.25)
    shift: float = 0.1  # fraction of the side, ±
    rotate: float = 20.0  # degrees, ±
    crop: float = 0.4  # random resized crop
    crop_scale: tuple[float, float] = (0.4, 1.0)
    colour: float = 0.6
    blur_noise: float = 0.3
    dropout: float = 0.5  # CoarseDropout
    holes: tuple[int, int] = (1, 6)


def albumentations() -> Any:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations as A

    return A


def strong_transforms(size: int, p: StrongAugment) -> list[Any]:
    """The strong pipeline's transforms for ``size``×``size`` scenes."""
    import cv2

    A = albumentations()
    return [
        A.HorizontalFlip(p=p.flip),
        A.Affine(
            scale=p.scale,
            translate_percent=(-p.shift, p.shift),
            rotate=(-p.rotate, p.rotate),
            border_mode=cv2.BORDER_CONSTANT,
            fill=0,
            fill_mask=0,
            p=p.affine,
        ),
        A.RandomResizedCrop(size=(size, size), scale=p.crop_scale, p=p.crop),
        A.RandomBrightnessContrast(0.25, 0.25, p=p.colour),
        A.HueSaturationValue(10, 20, 15, p=p.colour),
        A.OneOf(
            [A.GaussianBlur(blur_limit=(3, 5)), A.GaussNoise(std_range=(0.02, 0.08))],
            p=p.blur_noise,
        ),
        A.CoarseDropout(
            num_holes_range=p.holes,
            hole_height_range=(0.05, 0.15),
            hole_width_range=(0.05, 0.15),
            fill=0,
            fill_mask=0,
            p=p.dropout,
        ),
    ]


def pipeline(kind: str, size: int, seed: int, strong: StrongAugment | None = None) -> Any:
    """An ``A.Compose`` (seeded) taking ``image``, ``mask`` (instances), ``bboxes``, ``labels``."""
    if kind not in KINDS:
        raise ValueError(f"augmentation must be one of {', '.join(KINDS)}, got {kind!r}")
    A = albumentations()
    if kind == "strong":
        transforms = strong_transforms(size, strong or StrongAugment())
    elif kind == "light":
        transforms = [A.HorizontalFlip(p=0.5)]
    else:
        transforms = []
    boxes = A.BboxParams(format="pascal_voc", label_fields=["labels"], min_area=1.0)
    return A.Compose(transforms, bbox_params=boxes, seed=seed)


def apply(
    transform: Any, image: np.ndarray, instances: np.ndarray, boxes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image, instances, boxes (m, 4), instance numbers (m,)) after one draw of ``transform``.

    Box k (row k − 1 of ``boxes``) enters with label k; boxes pushed out of the frame are
    dropped, so the returned numbers say which instance each remaining box belongs to.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # CoarseDropout on 0-area boxes
        out = transform(
            image=image,
            mask=instances,
            bboxes=boxes.reshape(-1, 4).astype(np.float32),
            labels=np.arange(1, len(boxes) + 1),
        )
    kept = np.asarray(out["labels"], np.int64).reshape(-1)
    return out["image"], out["mask"], np.asarray(out["bboxes"], np.float32).reshape(-1, 4), kept
