"""The detection loss: BCE on classes, CIoU and Distribution Focal Loss on boxes.

After :func:`~ai_roadmap.vision.detect.assigner.assign`, with S = Σ of the class
targets (the number of positives, softly counted):

* classes: binary cross-entropy of every cell's logits against its soft one-hot
  target (background cells: all zeros), summed / S;
* boxes: ``1 − CIoU`` of each positive's decoded box and its true box, weighted by the
  positive's target score, summed / S;
* DFL: each edge distance t (in strides) lies between bins i = ⌊t⌋ and i + 1; the loss
  is ``(i+1 − t)·CE(logits, i) + (t − i)·CE(logits, i+1)``, which puts the
  distribution's mass on the two bins around t (its expectation is then t).

Total = ``box_gain · box + cls_gain · cls + dfl_gain · dfl`` (YOLOv8's 7.5, 0.5, 1.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ai_roadmap.vision.detect.assigner import assign
from ai_roadmap.vision.detect.boxes import box_to_distance, ciou_loss, distance_to_box, make_anchors
from ai_roadmap.vision.detect.model import STRIDES, dfl_expectation


@dataclass(frozen=True)
class LossGains:
    box: float = 7.5
    cls: float = 0.5
    dfl: float = 1.5


def dfl_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, 4, R) bin logits, (N, 4) target distances in strides → (N,) mean over edges."""
    left = target.long()
    w_left = left + 1 - target
    ce_left = F.cross_entropy(logits.transpose(1, 2), left, reduction="none")  # (N, 4)
    ce_right = F.cross_entropy(logits.transpose(1, 2), left + 1, reduction="none")
    return (ce_left * w_left + ce_right * (1 - w_left)).mean(-1)


def detection_loss(
    box_logits: torch.Tensor,
    cls_logits: torch.Tensor,
    shapes: list[tuple[int, int]],
    gt_labels: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_mask: torch.Tensor,
    reg_max: int,
    gains: LossGains = LossGains(),
) -> tuple[torch.Tensor, dict[str, float]]:
    """(total loss, its parts) for a batch; targets padded to M boxes per image."""
    box_logits, cls_logits = box_logits.float(), cls_logits.float()
    points, strides = make_anchors(shapes, list(STRIDES), box_logits.device)
    pred_boxes = distance_to_box(points, dfl_expectation(box_logits, reg_max) * strides)
    target = assign(cls_logits.sigmoid(), pred_boxes.detach(), points, gt_labels, gt_boxes, gt_mask)
    total_score = target.scores.sum().clamp(min=1.0)
    cls = (
        F.binary_cross_entropy_with_logits(cls_logits, target.scores, reduction="sum") / total_score
    )
    fg = target.foreground
    if fg.any():
        weight = target.scores.sum(-1)[fg]
        box = (ciou_loss(pred_boxes[fg], target.boxes[fg]) * weight).sum() / total_score
        step = strides[:, 0].expand(fg.shape)[fg]  # (N,) stride of each positive
        distance = box_to_distance(
            points.expand(*fg.shape, 2)[fg] / step[:, None],
            target.boxes[fg] / step[:, None],
            reg_max - 1.01,
        )
        logits = box_logits[fg].unflatten(-1, (4, reg_max))  # (N, 4R) -> (N, 4, R)
        dfl = (dfl_loss(logits, distance) * weight).sum() / total_score
    else:
        box = dfl = box_logits.sum() * 0.0
    total = gains.box * box + gains.cls * cls + gains.dfl * dfl
    parts = {"box": float(box.detach()), "cls": float(cls.detach()), "dfl": float(dfl.detach())}
    return total, parts
