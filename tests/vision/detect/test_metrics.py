"""Our mAP against pycocotools and faster-coco-eval on the same predictions."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
import pytest

from ai_roadmap.vision.detect.metrics import evaluate, interpolated_ap

Case = tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]


def noisy_case(seed: int, n_images: int = 40, classes: int = 3) -> Case:
    """True boxes, and detections: jittered copies (some relabelled) plus false alarms."""
    rng = np.random.default_rng(seed)
    truths, dets = [], []
    for _ in range(n_images):
        m = int(rng.integers(0, 6))
        xy = rng.uniform(0, 200, (m, 2))
        boxes = np.concatenate((xy, xy + rng.uniform(10, 60, (m, 2))), 1)
        labels = rng.integers(0, classes, m)
        truths.append((boxes, labels))
        keep = rng.random(m) < 0.8
        jitter = boxes[keep] + rng.normal(0, 4, (int(keep.sum()), 4))
        det_labels = np.where(
            rng.random(int(keep.sum())) < 0.9,
            labels[keep],
            rng.integers(0, classes, int(keep.sum())),
        )
        n_false = int(rng.integers(0, 4))
        fxy = rng.uniform(0, 200, (n_false, 2))
        false = np.concatenate((fxy, fxy + rng.uniform(10, 60, (n_false, 2))), 1)
        all_boxes = np.concatenate((jitter, false))
        all_boxes[:, 2:] = np.maximum(all_boxes[:, 2:], all_boxes[:, :2] + 1)
        scores = rng.uniform(0.05, 1.0, len(all_boxes))
        cls = np.concatenate((det_labels, rng.integers(0, classes, n_false)))
        dets.append(np.column_stack((all_boxes, scores, cls)))
    return dets, truths


def coco_dicts(case: Case, classes: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dets, truths = case
    images, annotations, results = [], [], []
    for i, ((boxes, labels), d) in enumerate(zip(truths, dets, strict=True)):
        images.append({"id": i, "width": 300, "height": 300})
        for b, lab in zip(boxes, labels, strict=True):
            w, h = b[2] - b[0], b[3] - b[1]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": int(lab),
                    "bbox": [b[0], b[1], w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for row in d:
            results.append(
                {
                    "image_id": i,
                    "category_id": int(row[5]),
                    "bbox": [row[0], row[1], row[2] - row[0], row[3] - row[1]],
                    "score": float(row[4]),
                }
            )
    gt = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": c} for c in range(classes)],
    }
    return gt, results


def run_cocoeval(
    module: Any, gt: dict[str, Any], results: list[dict[str, Any]]
) -> tuple[float, float]:
    """(mAP50-95, mAP50) from a COCOeval-style API."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = module.COCO()
        coco.dataset = gt
        coco.createIndex()
        evaluator = module.COCOeval(coco, coco.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0]), float(evaluator.stats[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_agrees_with_pycocotools_and_faster_coco_eval(seed: int) -> None:
    import faster_coco_eval
    from pycocotools import coco as pc_coco
    from pycocotools import cocoeval as pc_eval

    case = noisy_case(seed)
    ours = evaluate(*case, num_classes=3)
    gt, results = coco_dicts(case, 3)

    class Pycoco:
        COCO = pc_coco.COCO
        COCOeval = pc_eval.COCOeval

    class Faster:
        COCO = faster_coco_eval.COCO
        COCOeval = faster_coco_eval.COCOeval_faster

    for module in (Pycoco, Faster):
        map50_95, map50 = run_cocoeval(module, gt, results)
        assert abs(ours.map50 - map50) <= 0.005, module.__name__
        assert abs(ours.map50_95 - map50_95) <= 0.005, module.__name__
    assert 0.2 < ours.map50 < 0.95  # a case where mistakes matter


def test_ap_of_hand_worked_ranking() -> None:
    # 2 true boxes; ranked hits: TP, FP, TP → precision 1, 1/2, 2/3; recall .5, .5, 1
    # envelope 1, 2/3, 2/3: recall levels 0–0.5 (51 of them) → 1, 0.51–1 (50) → 2/3
    ap, _, _ = interpolated_ap(np.array([True, False, True]), 2)
    assert ap == pytest.approx((51 * 1 + 50 * 2 / 3) / 101)


def test_perfect_detections_score_one_and_missing_class_is_zero() -> None:
    boxes = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], float)
    labels = np.array([0, 1])
    dets = [np.column_stack((boxes[:1], [0.9], [0]))]
    result = evaluate(dets, [(boxes, labels)], num_classes=3)
    assert result.per_class_ap50()[0] == pytest.approx(1.0)
    assert result.per_class_ap50()[1] == 0.0
    assert np.isnan(result.per_class_ap50()[2])
    assert result.map50 == pytest.approx(0.5)
