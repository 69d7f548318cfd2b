"""Task-aligned assignment (TOOD, Feng et al. 2021), as YOLOv8 uses it.

Which cells learn which object? For every true box, the candidate cells are those
whose centre lies inside it. Each candidate gets the alignment metric

    t = s^α · u^β      (α = 0.5, β = 6 by default)

where s is the cell's predicted probability of the box's class and u the IoU of the
cell's predicted box with it: a cell counts as good when it both classifies and
localises well. The ``top_k`` best candidates of each box become its positives; a cell
claimed by several boxes keeps the one it overlaps most. The class target of a
positive is not 1 but t normalised per box so the box's best cell gets its best IoU:
``t / max(t) · max(u)`` — classification confidence learns to track localisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ai_roadmap.vision.detect.boxes import EPS, box_iou


@dataclass
class Assignment:
    """Per image and cell: the matched box, its class-score target, and the foreground mask."""

    boxes: torch.Tensor  # (B, A, 4) pixels
    scores: torch.Tensor  # (B, A, C) soft one-hot
    foreground: torch.Tensor  # (B, A) bool


def inside_boxes(points: torch.Tensor, gt_boxes: torch.Tensor) -> torch.Tensor:
    """(B, M, A): cell centre ``a`` strictly inside true box ``m``."""
    lt = points[None, None] - gt_boxes[..., None, :2]  # (B, M, A, 2)
    rb = gt_boxes[..., None, 2:] - points[None, None]
    return torch.cat((lt, rb), -1).amin(-1) > EPS


@torch.no_grad()
def assign(
    probs: torch.Tensor,
    pred_boxes: torch.Tensor,
    points: torch.Tensor,
    gt_labels: torch.Tensor,
    gt_boxes: torch.Tensor,
    gt_mask: torch.Tensor,
    top_k: int = 10,
    alpha: float = 0.5,
    beta: float = 6.0,
) -> Assignment:
    """Assign cells to true boxes.

    probs (B, A, C) predicted class probabilities · pred_boxes (B, A, 4) · points (A, 2)
    cell centres · gt_labels (B, M) · gt_boxes (B, M, 4) · gt_mask (B, M) real vs padding.
    """
    b, a, c = probs.shape
    candidates = inside_boxes(points, gt_boxes) & gt_mask[..., None]  # (B, M, A)
    overlaps = torch.stack([box_iou(gt_boxes[i], pred_boxes[i]) for i in range(b)])  # (B, M, A)
    overlaps = overlaps * candidates
    labels = gt_labels.clamp(min=0)
    cls_score = probs.gather(2, labels[:, None, :].expand(b, a, -1)).transpose(1, 2)  # (B, M, A)
    metric = cls_score.pow(alpha) * overlaps.pow(beta) * candidates
    k = min(top_k, a)
    top = metric.topk(k, dim=-1).indices  # (B, M, k)
    chosen = torch.zeros_like(candidates).scatter_(-1, top, True) & candidates
    # a cell claimed by several boxes keeps the one its prediction overlaps most
    several = chosen.sum(1, keepdim=True) > 1  # (B, 1, A)
    best = F.one_hot(overlaps.argmax(1), gt_boxes.shape[1]).transpose(1, 2).bool()  # (B, M, A)
    chosen = torch.where(several, best & candidates, chosen)
    foreground = chosen.any(1)  # (B, A)
    matched = chosen.float().argmax(1)  # (B, A)
    boxes = gt_boxes.gather(1, matched[..., None].expand(-1, -1, 4))
    target_labels = labels.gather(1, matched)
    metric = metric * chosen
    norm = metric * overlaps.amax(-1, keepdim=True) / (metric.amax(-1, keepdim=True) + EPS)
    weight = (norm * chosen).amax(1)  # (B, A)
    scores = F.one_hot(target_labels, c).float() * (weight * foreground)[..., None]
    return Assignment(boxes=boxes, scores=scores, foreground=foreground)
