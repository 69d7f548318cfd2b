"""Detection augmentation: the boxes follow the pixels, and switched-off steps change nothing."""

from __future__ import annotations

import numpy as np

from ai_roadmap.vision.detect.augment import Augment, augment, augment_one, flip_boxes


def square_scene(size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    image = np.zeros((size, size, 3), np.uint8)
    image[10:30, 20:44] = (250, 30, 30)
    return image, np.array([[20, 10, 44, 30]], np.float32), np.array([2])


def tight_box(image: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(image[..., 0] > 128)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_flip_mirrors_the_box_and_twice_is_identity() -> None:
    boxes = np.array([[20, 10, 44, 30]], np.float32)
    assert flip_boxes(boxes, 100).tolist() == [[56, 10, 80, 30]]
    assert np.array_equal(flip_boxes(flip_boxes(boxes, 100), 100), boxes)


def test_zoomed_and_shifted_box_still_bounds_the_object() -> None:
    image, boxes, labels = square_scene()
    aug = Augment(flip=True, zoom=0.4, shift=0.1, min_kept=0.0)
    rng = np.random.default_rng(3)
    moved = 0
    for _ in range(20):
        out, b, lab = augment_one(image, boxes, labels, aug, rng)
        assert lab.tolist() == [2] and b.shape == (1, 4)
        truth = tight_box(out)
        assert np.abs(b[0] - truth).max() <= 1.0, (b[0], truth)  # bilinear edge: ≤ 1 px
        moved += not np.allclose(b[0], boxes[0])
    assert moved >= 15


def test_a_box_pushed_mostly_out_of_the_frame_is_dropped() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    boxes = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32)
    aug = Augment(flip=False, zoom=0.0, shift=0.1, min_kept=0.6)
    kept = set()
    rng = np.random.default_rng(0)
    for _ in range(30):
        _, b, lab = augment_one(image, boxes, np.array([0, 1]), aug, rng)
        assert ((b >= 0) & (b <= 64)).all()
        kept.add(tuple(lab.tolist()))
    assert (1,) in kept and (0, 1) in kept  # the corner box leaves with a left/up shift


def test_switched_off_augmentation_returns_the_input() -> None:
    image, boxes, labels = square_scene()
    images = np.stack([image, image[::-1]])
    out, targets = augment(
        images, [(boxes, labels)] * 2, Augment(flip=False), np.random.default_rng(0)
    )
    assert np.array_equal(out, images)
    assert all(np.array_equal(b, boxes) for b, _ in targets)


def test_colour_steps_and_cutout_change_pixels_not_boxes() -> None:
    image, boxes, labels = square_scene()
    aug = Augment(flip=False, hue=0.3, saturation=0.5, value=0.3, cutout=1.0)
    out, b, _ = augment_one(image, boxes, labels, aug, np.random.default_rng(1))
    assert np.array_equal(b, boxes)
    assert not np.array_equal(out, image)
    assert (out == 114).all(-1).any()  # the grey cutout
    red = image[15, 25].astype(int)
    hues = {
        tuple(augment_one(image, boxes, labels, aug, np.random.default_rng(s))[0][15, 25])
        for s in range(10)
    } - {(114, 114, 114)}
    assert len(hues) >= 5 and all(np.abs(np.array(h) - red).max() > 0 for h in hues)


def test_object_colour_changes_each_object_and_not_the_background() -> None:
    image, boxes, labels = square_scene()
    image[40:60, 40:60] = (30, 200, 30)
    instances = np.zeros(image.shape[:2], np.uint8)
    instances[10:30, 20:44], instances[40:60, 40:60] = 1, 2
    aug = Augment(flip=False, object_hue=0.4, object_sv=0.3)
    out, b, _ = augment_one(image, boxes, labels, aug, np.random.default_rng(0), instances)
    assert np.array_equal(b, boxes)
    assert np.array_equal(out[instances == 0], image[instances == 0])
    assert not np.array_equal(out[15, 25], image[15, 25])
    assert not np.array_equal(out[50, 50], image[50, 50])
