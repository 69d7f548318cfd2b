"""Stamps composited on white, grouped into classes, the subject set apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.errors import UsageError
from ai_roadmap.multimodal.diffusion.stamps import StampSource, load_stamp_images, on_white


def test_on_white_centres_the_masked_object_on_white() -> None:
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[10:30, 10:50] = (255, 0, 0, 255)  # a 20×40 red box in a transparent frame
    image = on_white(rgba, 8)
    assert image.shape == (3, 8, 8) and image.dtype == np.float32
    # the box fills the width and half the height, centred: rows 2..5 red, the rest white
    np.testing.assert_allclose(image[:, 3:5, :].transpose(1, 2, 0), [[[1, 0, 0]] * 8] * 2)
    np.testing.assert_allclose(image[:, 0, :], 1.0)
    np.testing.assert_allclose(image[:, 7, :], 1.0)


@pytest.mark.data
def test_subject_is_left_out_of_the_class_data(roadmap_home: Path) -> None:
    data = load_stamp_images(StampSource(size=16, n_subject=10, holdout=0.1))
    assert data.subject.shape == (10, 3, 16, 16)
    assert all(i.startswith("animals/fish/") for i in data.subject_ids)
    assert data.classes[data.subject_class] == "animals" and "other" in data.classes
    # no training or held-out image is one of the subject's images
    flat = data.subject.reshape(10, -1)
    for pool in (data.train, data.heldout):
        gaps = np.abs(pool.reshape(len(pool), 1, -1) - flat[None]).max(axis=2)
        assert gaps.min() > 0
    # every class keeps about a tenth of its images apart
    held = np.bincount(data.heldout_labels, minlength=len(data.classes))
    train = np.bincount(data.train_labels, minlength=len(data.classes))
    assert (held >= 1).all() and (held / (held + train)).max() < 0.2


@pytest.mark.data
def test_too_small_a_subject_is_one_line(roadmap_home: Path) -> None:
    with pytest.raises(UsageError, match="fewer than n_subject=40"):
        load_stamp_images(StampSource(subject="animals/fish", n_subject=40))
