"""Tiling aerial images with their boxes, and letterboxing a picture for the detector."""

from __future__ import annotations

import numpy as np

from ai_roadmap.vision.detect.infer import letterbox
from ai_roadmap.vision.detect.tiles import pad_to_multiple, tile_image


def test_tiles_cover_the_image_and_keep_mostly_inside_boxes() -> None:
    image = np.arange(100 * 150 * 3, dtype=np.uint32).reshape(100, 150, 3).astype(np.uint8)
    boxes = np.array([[10, 10, 30, 30], [55, 10, 75, 30], [40, 70, 60, 90]], np.float32)
    tiles, tile_boxes = tile_image(image, boxes, 64, 64)
    assert len(tiles) == 2 * 3 and all(t.shape == (64, 64, 3) for t in tiles)
    assert np.array_equal(tiles[0], image[:64, :64])
    assert np.array_equal(tiles[-1], image[36:100, 86:150])  # last row/column flush with edges
    # box 2 spans x 55-75: 9 of 20 px inside tile 0 (< half, dropped), 11 px in tile 1 (kept)
    assert tile_boxes[0].tolist() == [[10, 10, 30, 30]]
    assert tile_boxes[1].tolist() == [[0, 10, 11, 30]]


def test_letterbox_keeps_aspect_and_pads() -> None:
    image = np.full((50, 100, 3), 200, np.uint8)
    square, k = letterbox(image, 64)
    assert square.shape == (64, 64, 3) and k == 0.64
    assert (square[:32] == 200).all() and (square[32:] == 114).all()
    assert pad_to_multiple(np.zeros((40, 70, 3), np.uint8)).shape == (64, 96, 3)
