"""IoU and Dice from our confusion matrix, by hand and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from ai_roadmap.vision.segment.checks import check_metrics
from ai_roadmap.vision.segment.metrics import (
    confusion_matrix,
    dice_per_class,
    iou_per_class,
    summary,
)


def test_hand_computed_case() -> None:
    true = np.array([[0, 0, 1, 1], [2, 2, 2, 0]])
    pred = np.array([[0, 1, 1, 1], [2, 2, 0, 0]])
    cm = confusion_matrix(true, pred, 4)
    # class 0: TP 2, FP 1 (a 2 read as 0), FN 1 (a 0 read as 1): IoU 2/4, Dice 4/6
    # class 1: TP 2, FP 1, FN 0: IoU 2/3, Dice 4/5 · class 2: TP 2, FN 1: IoU 2/3, Dice 4/5
    assert iou_per_class(cm)[:3] == pytest.approx([0.5, 2 / 3, 2 / 3])
    assert dice_per_class(cm)[:3] == pytest.approx([4 / 6, 0.8, 0.8])
    assert np.isnan(iou_per_class(cm)[3])  # class 3 absent everywhere: left out of the mean
    assert summary(cm, ["bg", "a", "b", "c"])["miou"] == pytest.approx((0.5 + 4 / 3) / 3)


@pytest.mark.reference
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scikit_learn(seed: int) -> None:
    from sklearn.metrics import f1_score, jaccard_score

    rng = np.random.default_rng(seed)
    true = rng.integers(0, 4, (5, 32, 32))
    pred = np.where(rng.random(true.shape) < 0.6, true, rng.integers(0, 4, true.shape))
    cm = confusion_matrix(true, pred, 4)
    ref_iou = jaccard_score(true.ravel(), pred.ravel(), average=None)
    ref_dice = f1_score(true.ravel(), pred.ravel(), average=None)
    assert iou_per_class(cm) == pytest.approx(ref_iou, abs=1e-12)
    assert dice_per_class(cm) == pytest.approx(ref_dice, abs=1e-12)
    assert check_metrics(true, pred, 4).passed


def test_dice_is_two_iou_over_one_plus_iou() -> None:
    rng = np.random.default_rng(5)
    cm = confusion_matrix(rng.integers(0, 3, 500), rng.integers(0, 3, 500), 3)
    iou = iou_per_class(cm)
    assert dice_per_class(cm) == pytest.approx(2 * iou / (1 + iou))


def test_out_of_range_labels_are_refused() -> None:
    with pytest.raises(ValueError, match="0 … 2"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
