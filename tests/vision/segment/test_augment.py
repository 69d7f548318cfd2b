"""Albumentations moves images, instance masks and boxes together, on real composite scenes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.vision.scenes import SceneConfig, Split, composite_scenes
from ai_roadmap.vision.segment.augment import albumentations, apply, pipeline
from ai_roadmap.vision.segment.checks import box_mismatches, check_augmented_boxes
from ai_roadmap.vision.segment.masks import instance_classes, mask_box, semantic_mask

pytestmark = pytest.mark.data

SMALL = SceneConfig(size=96, n_scenes=(64, 16, 16))  # the smoke set, cached in the data home


@pytest.fixture
def train(roadmap_home: Path) -> Split:
    return composite_scenes(SMALL)["train"]


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return float(w * h / (area(a) + area(b) - w * h))


def test_untransformed_masks_give_the_scene_boxes(train: Split) -> None:
    for i in range(8):
        boxes, labels = train.targets(i)
        lut = instance_classes(train, i)
        for k, (box, label) in enumerate(zip(boxes, labels, strict=True), start=1):
            assert np.array_equal(mask_box(train.instances[i] == k), box)
            assert lut[k] == label + 1
        assert set(np.unique(semantic_mask(train.instances[i], lut))) <= {0, 1, 2, 3}


def test_strong_augmentation_keeps_each_mask_inside_its_box(train: Split) -> None:
    transform = pipeline("strong", SMALL.size, seed=3)
    checked, bad, _ = box_mismatches(train, transform, np.arange(len(train)))
    assert checked > 100 and bad == 0
    assert check_augmented_boxes(train, transform, 16, seed=0).passed


def test_without_rotation_mask_boxes_equal_the_transformed_boxes(train: Split) -> None:
    """Flip, crop and rescale move box corners as they move mask pixels, to a pixel per side.

    Boxes move as continuous corners, the mask by OpenCV's nearest-neighbour resize of
    pixel centres: on boxes of 8–40 px a pixel per side keeps IoU near 0.9, not 1. A crop
    that cuts an object clips its box to the frame, while the cut mask of a non-rectangular
    object can be smaller: the mask box stays inside, the IoU can drop.
    """
    A = albumentations()
    transform = A.Compose(
        [A.HorizontalFlip(p=1.0), A.RandomResizedCrop(size=(96, 96), scale=(0.5, 1.0), p=1.0)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"], min_area=1.0),
        seed=0,
    )
    ious = []
    for i in range(len(train)):
        boxes, _ = train.targets(i)
        _, inst, new_boxes, ids = apply(transform, train.images[i], train.instances[i], boxes)
        for box, k in zip(new_boxes, ids, strict=True):
            found = mask_box(inst == k)
            if found is not None and (box[2:] - box[:2]).min() >= 8:
                ious.append(box_iou(found, box))
                assert (found[:2] >= box[:2] - 1).all() and (found[2:] <= box[2:] + 1).all()
    assert len(ious) > 50 and np.median(ious) > 0.9 and np.quantile(ious, 0.1) > 0.75


def test_the_check_catches_a_mask_left_behind(train: Split) -> None:
    """A flip applied to the boxes but not to the mask must fail the check."""
    A = albumentations()
    boxes_only = A.Compose(
        [A.HorizontalFlip(p=1.0)],
        bbox_params=A.BboxParams(format="pascal_voc", label_fields=["labels"]),
        seed=0,
    )

    class MaskLeftBehind:
        def __call__(self, **kw: np.ndarray) -> dict[str, np.ndarray]:
            out = boxes_only(**kw)
            out["mask"] = kw["mask"]
            return out

    _, bad, _ = box_mismatches(train, MaskLeftBehind(), np.arange(16))
    assert bad > 5


def test_light_is_a_flip_only_and_unknown_kinds_are_refused(train: Split) -> None:
    boxes, _ = train.targets(0)
    image, inst, _, _ = apply(pipeline("light", 96, 0), train.images[0], train.instances[0], boxes)
    assert np.array_equal(image, train.images[0]) or np.array_equal(image, train.images[0][:, ::-1])
    assert np.array_equal(inst, train.instances[0]) or np.array_equal(
        inst, train.instances[0][:, ::-1]
    )
    with pytest.raises(ValueError, match="strong, light"):
        pipeline("heavy", 96, 0)
