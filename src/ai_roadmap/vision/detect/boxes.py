"""Boxes: IoU, Complete-IoU and the box ↔ distance coding of an anchor-free head.

Boxes are ``(x1, y1, x2, y2)`` in pixels. CIoU (Zheng et al., *Distance-IoU Loss*,
AAAI 2020) adds to IoU two penalties a plain IoU loss lacks:

    CIoU = IoU − ρ²(b, b_gt) / c² − α·v
    v = 4/π² · (atan(w_gt / h_gt) − atan(w / h))²,     α = v / ((1 − IoU) + v)

ρ is the distance between the centres, c the diagonal of the smallest box enclosing
both; v measures the difference in aspect ratio, and α — a weight, not a learned
quantity — is computed without gradient, as the paper prescribes. The loss is
``1 − CIoU``: 0 for identical boxes, and still informative for disjoint ones (the
centre term pulls them together where IoU's gradient is zero).
"""

from __future__ import annotations

import math

import torch

EPS = 1e-7


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of ``(..., 4)`` boxes."""
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(
        min=0
    )


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU: (N, 4) × (M, 4) → (N, M)."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)
    return inter / (box_area(a)[:, None] + box_area(b)[None, :] - inter + EPS)


def ciou(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Elementwise Complete-IoU of ``(..., 4)`` predicted and target boxes."""
    w1, h1 = pred[..., 2] - pred[..., 0], pred[..., 3] - pred[..., 1]
    w2, h2 = target[..., 2] - target[..., 0], target[..., 3] - target[..., 1]
    inter = (
        torch.minimum(pred[..., 2], target[..., 2]) - torch.maximum(pred[..., 0], target[..., 0])
    ).clamp(min=0) * (
        torch.minimum(pred[..., 3], target[..., 3]) - torch.maximum(pred[..., 1], target[..., 1])
    ).clamp(min=0)
    iou = inter / (w1 * h1 + w2 * h2 - inter + EPS)
    # c²: squared diagonal of the smallest enclosing box; ρ²: squared centre distance
    cw = torch.maximum(pred[..., 2], target[..., 2]) - torch.minimum(pred[..., 0], target[..., 0])
    ch = torch.maximum(pred[..., 3], target[..., 3]) - torch.minimum(pred[..., 1], target[..., 1])
    c2 = cw**2 + ch**2 + EPS
    rho2 = (
        (pred[..., 0] + pred[..., 2] - target[..., 0] - target[..., 2]) ** 2
        + (pred[..., 1] + pred[..., 3] - target[..., 1] - target[..., 3]) ** 2
    ) / 4
    v = (4 / math.pi**2) * (torch.atan(w2 / (h2 + EPS)) - torch.atan(w1 / (h1 + EPS))) ** 2
    with torch.no_grad():
        alpha = v / (v - iou + (1 + EPS))
    return iou - rho2 / c2 - alpha * v


def ciou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 − CIoU`` per box pair: in [0, 3)."""
    return 1.0 - ciou(pred, target)


def make_anchors(
    shapes: list[tuple[int, int]], strides: list[int], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cell centres of every level in pixels (A, 2) and each one's stride (A, 1)."""
    points, steps = [], []
    for (h, w), s in zip(shapes, strides, strict=True):
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) * s
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) * s
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack((grid_x, grid_y), -1).reshape(-1, 2))
        steps.append(torch.full((h * w, 1), float(s), device=device))
    return torch.cat(points), torch.cat(steps)


def distance_to_box(points: torch.Tensor, ltrb: torch.Tensor) -> torch.Tensor:
    """Boxes from a point and its distances to the left, top, right, bottom edges."""
    return torch.cat((points - ltrb[..., :2], points + ltrb[..., 2:]), -1)


def box_to_distance(points: torch.Tensor, boxes: torch.Tensor, limit: float) -> torch.Tensor:
    """The (l, t, r, b) distances of a point to a box's edges, clamped to ``[0, limit]``."""
    ltrb = torch.cat((points - boxes[..., :2], boxes[..., 2:] - points), -1)
    return ltrb.clamp(0, limit)
