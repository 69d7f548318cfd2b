"""Mean average precision, the COCO way: mAP50 and mAP50-95 with 101-point interpolation.

For one class and one IoU threshold t: every detection of the class, over all images,
is sorted by score (best first, stable). Each is a true positive when it matches a true
box of its image not matched before with IoU ≥ t (the best-overlapping such box);
otherwise a false positive. Running sums give precision p_i and recall r_i after the
i-th detection. The precision envelope ``p̂_i = max_{j ≥ i} p_j`` removes the zig-zag,
and AP is its mean over the 101 recall levels 0, 0.01, …, 1, where the envelope at
level r is ``p̂`` at the first detection with recall ≥ r (0 when recall never reaches
r). This is COCO's definition (``pycocotools.cocoeval.COCOeval.accumulate``);
Pascal VOC 2010+ instead integrates the envelope over every recall step, and VOC 2007
samples 11 levels — numbers differ slightly between the three.

mAP50 averages AP at t = 0.5 over the classes with true boxes; mAP50-95 averages over
t = 0.50, 0.55, …, 0.95 as well. Like COCO, at most ``max_det`` detections per image
and class are counted. Boxes are ``(x1, y1, x2, y2)``; IoU has no "+1" pixel term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_LEVELS = np.linspace(0.0, 1.0, 101)


@dataclass
class Evaluation:
    """ap (C, T): AP per class and IoU threshold (NaN where a class has no true box)."""

    ap: np.ndarray
    curves: list[tuple[np.ndarray, np.ndarray]]  # per class at IoU 0.5: (recall, precision)
    n_true: np.ndarray  # (C,) true boxes per class

    @property
    def map50(self) -> float:
        return float(np.nanmean(self.ap[:, 0]))

    @property
    def map50_95(self) -> float:
        return float(np.nanmean(self.ap))

    def per_class_ap50(self) -> list[float]:
        return [float(a) for a in self.ap[:, 0]]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes → (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_image(dets: np.ndarray, truths: np.ndarray) -> np.ndarray:
    """(n_det, T) bool: detection i (score order) is a true positive at threshold t."""
    hits = np.zeros((len(dets), len(IOU_THRESHOLDS)), bool)
    if len(dets) == 0 or len(truths) == 0:
        return hits
    ious = iou_matrix(dets[:, :4], truths)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        taken = np.zeros(len(truths), bool)
        for i in range(len(dets)):
            candidates = np.where(taken, -1.0, ious[i])
            best = int(candidates.argmax())
            if candidates[best] >= threshold:
                taken[best] = hits[i, t] = True
    return hits


def interpolated_ap(hits: np.ndarray, n_true: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(101-point AP, recall, precision envelope) of score-sorted hits against n_true boxes."""
    if len(hits) == 0:
        return 0.0, np.zeros(0), np.zeros(0)
    tp = np.cumsum(hits)
    fp = np.cumsum(~hits)
    recall = tp / n_true
    precision = tp / np.maximum(tp + fp, np.finfo(float).eps)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.searchsorted(recall, RECALL_LEVELS, side="left")
    sampled = np.where(index < len(envelope), envelope[np.minimum(index, len(envelope) - 1)], 0.0)
    return float(sampled.mean()), recall, envelope


def evaluate(
    detections: list[np.ndarray],
    truths: list[tuple[np.ndarray, np.ndarray]],
    num_classes: int,
    max_det: int = 100,
) -> Evaluation:
    """AP per class and threshold.

    detections: per image (n, 6) x1, y1, x2, y2, score, class · truths: per image
    (boxes (m, 4), labels (m,)).
    """
    ap = np.full((num_classes, len(IOU_THRESHOLDS)), np.nan)
    n_true = np.zeros(num_classes, int)
    curves = []
    for c in range(num_classes):
        scores, hits = [], []
        for dets, (boxes, labels) in zip(detections, truths, strict=True):
            mine = dets[dets[:, 5] == c]
            mine = mine[np.argsort(-mine[:, 4], kind="mergesort")][:max_det]
            gt = boxes[labels == c]
            n_true[c] += len(gt)
            scores.append(mine[:, 4])
            hits.append(match_image(mine, gt))
        order = np.argsort(-np.concatenate(scores), kind="mergesort")
        all_hits = np.concatenate(hits)[order]
        if n_true[c] == 0:
            curves.append((np.zeros(0), np.zeros(0)))
            continue
        for t in range(len(IOU_THRESHOLDS)):
            ap[c, t], recall, precision = interpolated_ap(all_hits[:, t], int(n_true[c]))
            if t == 0:
                curves.append((recall, precision))
    return Evaluation(ap=ap, curves=curves, n_true=n_true)
