"""Non-maximum suppression, class-aware and batched, and the head's post-processing.

Greedy NMS: take the highest-scoring box, drop every remaining box whose IoU with it
exceeds the threshold, repeat. Class-aware: boxes of different classes never suppress
each other — done in one pass by shifting each class's boxes by ``class × (max
coordinate + 1)`` so boxes of different classes cannot overlap.
"""

from __future__ import annotations

import torch

from ai_roadmap.vision.detect.boxes import box_iou


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the kept boxes, highest score first."""
    order = scores.argsort(descending=True, stable=True)
    iou = box_iou(boxes[order], boxes[order])  # (N, N) in score order
    suppressed = torch.zeros(len(order), dtype=torch.bool, device=boxes.device)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return order[torch.as_tensor(keep, dtype=torch.long, device=boxes.device)]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, classes: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """Class-aware NMS: indices kept, highest score first."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    shift = classes.to(boxes.dtype)[:, None] * (boxes.max() + 1)
    return nms(boxes + shift, scores, iou_threshold)


def postprocess(
    boxes: torch.Tensor,
    probs: torch.Tensor,
    conf: float = 0.001,
    iou_threshold: float = 0.6,
    max_det: int = 100,
    max_candidates: int = 3000,
) -> list[torch.Tensor]:
    """Per image, detections (n, 6): x1, y1, x2, y2, score, class.

    Every (cell, class) pair above ``conf`` is a candidate (a cell may propose two
    classes, as in YOLOv8's multi-label evaluation); the best ``max_candidates`` go
    through class-aware NMS, the best ``max_det`` survivors are kept.
    """
    out = []
    for b, p in zip(boxes, probs, strict=True):
        cell, cls = (p > conf).nonzero(as_tuple=True)
        score = p[cell, cls]
        if len(score) > max_candidates:
            top = score.topk(max_candidates).indices
            cell, cls, score = cell[top], cls[top], score[top]
        keep = batched_nms(b[cell], score, cls, iou_threshold)[:max_det]
        out.append(torch.cat((b[cell[keep]], score[keep, None], cls[keep, None].float()), 1))
    return out
