"""NMS against a brute-force reference written from the definition."""

from __future__ import annotations

import torch

from ai_roadmap.vision.detect.boxes import box_iou
from ai_roadmap.vision.detect.nms import batched_nms, nms, postprocess


def brute_force_nms(
    boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, thr: float
) -> list[int]:
    """A box survives when no kept box of its class with a higher score overlaps it > thr."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    kept: list[int] = []
    for i in order:
        if all(
            int(classes[j]) != int(classes[i])
            or float(box_iou(boxes[i : i + 1], boxes[j : j + 1])) <= thr
            for j in kept
        ):
            kept.append(i)
    return kept


def test_batched_nms_matches_brute_force() -> None:
    gen = torch.Generator().manual_seed(1)
    for trial in range(20):
        n = 60
        xy = torch.rand(n, 2, generator=gen) * 80
        boxes = torch.cat((xy, xy + 10 + torch.rand(n, 2, generator=gen) * 30), 1)
        scores = torch.rand(n, generator=gen)
        classes = torch.randint(0, 3, (n,), generator=gen)
        thr = 0.3 + 0.05 * (trial % 8)
        assert batched_nms(boxes, scores, classes, thr).tolist() == brute_force_nms(
            boxes, scores, classes, thr
        )


def test_nms_keeps_the_best_of_overlapping_and_every_class() -> None:
    boxes = torch.tensor(
        [[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=torch.float32
    )
    scores = torch.tensor([0.8, 0.9, 0.7, 0.5])
    assert nms(boxes, scores, 0.5).tolist() == [1, 3]
    classes = torch.tensor([0, 0, 1, 0])
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == [1, 2, 3]


def test_postprocess_thresholds_and_limits() -> None:
    boxes = torch.tensor([[[0, 0, 10, 10], [30, 30, 40, 40], [0, 0, 10, 10]]], dtype=torch.float32)
    probs = torch.tensor([[[0.9, 0.1], [0.05, 0.6], [0.8, 0.0]]])
    (dets,) = postprocess(boxes, probs, conf=0.2, iou_threshold=0.5)
    assert dets[:, 4].tolist() == [0.8999999761581421, 0.6000000238418579]
    assert dets[:, 5].tolist() == [0.0, 1.0]
    (one,) = postprocess(boxes, probs, conf=0.2, max_det=1)
    assert len(one) == 1
