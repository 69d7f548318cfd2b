"""Run-time reference checks of the segmentation code (counted into ``checks_failed``).

* ``aspp_dilation``: each ASPP branch's effective kernel, k_eff = k + (k − 1)(d − 1),
  equals the s3.cnn receptive-field recursion on the branch's own geometry and the field
  measured by back-propagating one output pixel through an all-ones copy of it
  (:mod:`ai_roadmap.deep.conv_arith`).
* ``metrics_vs_sklearn``: per-class IoU and Dice from our confusion matrix against
  scikit-learn's ``jaccard_score`` / ``f1_score`` (``average=None``) on the same labels.
* ``augmented_masks_in_boxes``: after the strong pipeline, the tight box of each
  transformed instance mask lies inside that instance's transformed box (±2 px: boxes
  move as continuous corners, masks by nearest-neighbour pixel centres, and a zoom of up
  to 2× turns half a pixel into one). A rotated box encloses its rotated corners, so it
  can keep a sliver inside the frame after the object itself has left; such boxes
  (no mask pixel left) are counted in the detail, not as failures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.deep import conv_arith as ca
from ai_roadmap.vision.scenes import Split
from ai_roadmap.vision.segment.augment import apply
from ai_roadmap.vision.segment.deeplab import ASPP
from ai_roadmap.vision.segment.masks import mask_box
from ai_roadmap.vision.segment.metrics import confusion_matrix, dice_per_class, iou_per_class


def effective_kernel(k: int, d: int) -> int:
    """Span of a k-tap kernel whose taps lie d pixels apart."""
    return k + (k - 1) * (d - 1)


def branch_fields(aspp: ASPP) -> list[tuple[int, int, int, int]]:
    """Per branch: (dilation, formula k_eff, recursion r, measured field side)."""
    out = []
    for layer in aspp.branch_layers():
        measured = ca.empirical_receptive_field(ca.ones_model([layer]), ca.safe_input_size([layer]))
        out.append(
            (
                layer.dilation,
                effective_kernel(layer.kernel, layer.dilation),
                ca.receptive_field([layer])[0],
                measured.size[0],
            )
        )
    return out


def check_aspp(aspp: ASPP) -> CheckRecord:
    rows = branch_fields(aspp)
    error = max(max(abs(f - r), abs(f - m)) for _, f, r, m in rows)
    detail = ", ".join(f"d={d}: k_eff {f}" for d, f, _, _ in rows)
    return record("aspp_dilation", error, 0, detail)


def sklearn_scores(true: np.ndarray, pred: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(IoU, Dice) per class by scikit-learn (zero_division=NaN-free: absent classes → 0)."""
    from sklearn.metrics import f1_score, jaccard_score

    t, p, labels = true.ravel(), pred.ravel(), list(range(n))
    return (
        jaccard_score(t, p, labels=labels, average=None, zero_division=0),
        f1_score(t, p, labels=labels, average=None, zero_division=0),
    )


def check_metrics(true: np.ndarray, pred: np.ndarray, n: int) -> CheckRecord:
    cm = confusion_matrix(true, pred, n)
    iou, dice = np.nan_to_num(iou_per_class(cm)), np.nan_to_num(dice_per_class(cm))
    ref_iou, ref_dice = sklearn_scores(true, pred, n)
    error = max(np.abs(iou - ref_iou).max(), np.abs(dice - ref_dice).max())
    return record("metrics_vs_sklearn", float(error), 1e-9, f"{true.size} pixels")


def box_mismatches(
    split: Split, transform: Any, scenes: np.ndarray, tol: float = 2.0
) -> tuple[int, int, int]:
    """(instances checked, masks outside their box, boxes whose mask left the frame)."""
    checked = bad = gone = 0
    for i in scenes:
        boxes, _ = split.targets(int(i))
        _, inst, new_boxes, ids = apply(transform, split.images[i], split.instances[i], boxes)
        for box, k in zip(new_boxes, ids, strict=True):
            found = mask_box(inst == k)
            if found is None:
                gone += 1
                continue
            checked += 1
            bad += bool((found[:2] < box[:2] - tol).any() or (found[2:] > box[2:] + tol).any())
    return checked, bad, gone


def check_augmented_boxes(split: Split, transform: Any, n: int, seed: int) -> CheckRecord:
    scenes = np.random.default_rng(seed).choice(len(split), min(n, len(split)), replace=False)
    checked, bad, gone = box_mismatches(split, transform, scenes)
    detail = f"{checked} instances in {len(scenes)} scenes; {gone} boxes kept a sliver only"
    return record("augmented_masks_in_boxes", bad, 0, detail)
