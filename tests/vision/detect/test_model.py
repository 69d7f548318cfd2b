"""The detector's shapes, the assigner's choices, and that training fits one batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ai_roadmap.vision.detect.assigner import assign
from ai_roadmap.vision.detect.boxes import make_anchors
from ai_roadmap.vision.detect.loss import detection_loss
from ai_roadmap.vision.detect.model import Detector, DetectorConfig, dfl_expectation
from ai_roadmap.vision.detect.train import pad_targets

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only contend

TINY = DetectorConfig(num_classes=2, width=8, max_width=32, reg_max=8, image_size=64)


def test_output_shapes_cover_three_strides() -> None:
    model = Detector(TINY).eval()
    box, cls, shapes = model(torch.zeros(2, 3, 64, 64))
    assert shapes == [(8, 8), (4, 4), (2, 2)]
    assert box.shape == (2, 84, 4 * 8) and cls.shape == (2, 84, 2)
    boxes, probs = model.decode(box, cls, shapes)
    assert boxes.shape == (2, 84, 4) and float(probs.detach().max()) <= 1.0


def test_dfl_expectation_is_the_mean_bin() -> None:
    logits = torch.full((1, 4 * 4), -1e4)
    logits[0, [1, 4 + 2, 8 + 0, 12 + 3]] = 0.0  # one-hot bins 1, 2, 0, 3
    assert dfl_expectation(logits, 4).tolist() == [[1.0, 2.0, 0.0, 3.0]]


def test_assigner_picks_cells_inside_the_box_and_prefers_good_predictions() -> None:
    points, _ = make_anchors([(4, 4)], [8], torch.device("cpu"))  # centres 4, 12, 20, 28
    gt = torch.tensor([[[0.0, 0.0, 16.0, 16.0]]])
    pred = gt.expand(1, 16, 4).clone()
    pred[0, 0] = torch.tensor([20.0, 20.0, 30.0, 30.0])  # cell (4, 4) predicts elsewhere
    probs = torch.full((1, 16, 2), 0.5)
    result = assign(probs, pred, points, torch.tensor([[1]]), gt, torch.tensor([[True]]), top_k=3)
    inside = {0, 1, 4, 5}  # cells with centres (4|12, 4|12)
    chosen = set(result.foreground[0].nonzero().flatten().tolist())
    assert chosen == inside - {0}
    assert torch.allclose(result.scores[0, 1], torch.tensor([0.0, 1.0]))


@pytest.mark.slow
def test_training_overfits_one_batch() -> None:
    torch.manual_seed(0)
    model = Detector(TINY)
    images = torch.rand(4, 3, 64, 64)
    targets = [
        (np.array([[8, 8, 40, 40]], np.float32), np.array([0])),
        (np.array([[20, 10, 60, 50], [0, 0, 16, 24]], np.float32), np.array([1, 0])),
        (np.array([[30, 30, 60, 62]], np.float32), np.array([1])),
        (np.array([[4, 30, 28, 60]], np.float32), np.array([0])),
    ]
    labels, boxes, mask = pad_targets(targets)
    opt = torch.optim.AdamW(model.parameters(), 5e-3)
    losses = []
    for _ in range(30):
        loss, _ = detection_loss(*model(images), labels, boxes, mask, TINY.reg_max)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]
