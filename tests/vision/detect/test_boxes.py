"""CIoU from its definition: hand-computed cases and an independent implementation."""

from __future__ import annotations

import math

import pytest
import torch

from ai_roadmap.vision.detect.boxes import box_iou, ciou, ciou_loss


def t(*box: float) -> torch.Tensor:
    return torch.tensor([box], dtype=torch.float64)


def test_identical_boxes_have_zero_loss() -> None:
    box = t(10, 20, 50, 80)
    assert float(ciou_loss(box, box)) == pytest.approx(0.0, abs=1e-6)


def test_disjoint_boxes_pay_for_centre_distance() -> None:
    # same 10×10 shape, centres 20 apart on x: IoU 0, v 0, enclosing box 30 × 10
    value = float(ciou(t(0, 0, 10, 10), t(20, 0, 30, 10)))
    assert value == pytest.approx(0 - 20**2 / (30**2 + 10**2), abs=1e-6)
    assert float(ciou_loss(t(0, 0, 10, 10), t(20, 0, 30, 10))) == pytest.approx(1.4, abs=1e-6)


def test_nested_boxes_same_centre_and_aspect_reduce_to_iou() -> None:
    # 10×10 inside 20×20, both centred at (10, 10): IoU 100 / 400, ρ = 0, v = 0
    assert float(ciou(t(5, 5, 15, 15), t(0, 0, 20, 20))) == pytest.approx(0.25, abs=1e-6)


def test_nested_off_centre() -> None:
    # 10×10 at the corner of 20×20: IoU 0.25, ρ² = 50, c² = 800, same aspect
    assert float(ciou(t(0, 0, 10, 10), t(0, 0, 20, 20))) == pytest.approx(0.25 - 50 / 800, abs=1e-6)


def test_same_centre_different_aspect() -> None:
    # 20×10 vs 10×20 centred at the origin: IoU 100 / 300, ρ = 0
    pred, target = t(-10, -5, 10, 5), t(-5, -10, 5, 10)
    iou = 1 / 3
    v = 4 / math.pi**2 * (math.atan(10 / 20) - math.atan(20 / 10)) ** 2
    alpha = v / ((1 - iou) + v)
    assert float(ciou(pred, target)) == pytest.approx(iou - alpha * v, abs=1e-6)


def reference_ciou(p: list[float], g: list[float]) -> float:
    """CIoU of two boxes, written out in plain Python from the paper's definition."""
    iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
    wp, hp, wg, hg = p[2] - p[0], p[3] - p[1], g[2] - g[0], g[3] - g[1]
    inter = iw * ih
    iou = inter / (wp * hp + wg * hg - inter)
    cx_p, cy_p, cx_g, cy_g = (
        (p[0] + p[2]) / 2,
        (p[1] + p[3]) / 2,
        (g[0] + g[2]) / 2,
        (g[1] + g[3]) / 2,
    )
    rho2 = (cx_p - cx_g) ** 2 + (cy_p - cy_g) ** 2
    c2 = (max(p[2], g[2]) - min(p[0], g[0])) ** 2 + (max(p[3], g[3]) - min(p[1], g[1])) ** 2
    v = 4 / math.pi**2 * (math.atan(wg / hg) - math.atan(wp / hp)) ** 2
    alpha = v / ((1 - iou) + v) if v > 0 else 0.0
    return iou - rho2 / c2 - alpha * v


def random_boxes(n: int, gen: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 100
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 60 + 1
    return torch.cat((xy, xy + wh), 1)


def test_ciou_matches_an_independent_implementation() -> None:
    gen = torch.Generator().manual_seed(0)
    pred, target = random_boxes(200, gen), random_boxes(200, gen)
    ours = ciou(pred, target)
    expected = torch.tensor(
        [reference_ciou(p.tolist(), g.tolist()) for p, g in zip(pred, target, strict=True)]
    )
    torch.testing.assert_close(ours, expected.double(), atol=1e-6, rtol=1e-6)


def test_alpha_carries_no_gradient() -> None:
    pred = t(-10, -5, 10, 5).requires_grad_()
    target = t(-5, -10, 5, 10)
    ciou_loss(pred, target).sum().backward()
    # with α detached, dL/dpred = −dIoU/dpred + α dv/dpred (ρ term is 0 at equal centres)
    p = pred.detach().clone().requires_grad_()
    iou = box_iou(p, target)[0, 0]
    w, h = p[0, 2] - p[0, 0], p[0, 3] - p[0, 1]
    v = 4 / math.pi**2 * (math.atan(10 / 20) - torch.atan(w / h)) ** 2
    alpha = float((v / ((1 - iou) + v)).detach())
    (1 - iou + alpha * v).backward()
    assert pred.grad is not None and p.grad is not None
    torch.testing.assert_close(pred.grad, p.grad, atol=1e-6, rtol=1e-5)
