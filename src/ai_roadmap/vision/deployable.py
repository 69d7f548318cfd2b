"""The registered stage-4 vision models as single-tensor graphs, with inputs and a score.

Deployment runtimes (ONNX Runtime, TensorRT) run a graph from one input tensor to one output
tensor. This module turns each trained model folder into such a graph plus what is needed
to feed and judge it the way its milestone did:

* ``s4.detect`` → :class:`DetectorGraph`: image in [0, 1] → (B, anchors, 4 + classes), the
  decoded boxes (pixels) and class probabilities; NMS stays outside the graph (it is
  data-dependent), and the score is mAP50 of :func:`ai_roadmap.vision.detect.metrics.evaluate`
  after :func:`~ai_roadmap.vision.detect.nms.postprocess`;
* ``s4.segment`` → the network itself: standardised image → (B, classes, H, W) logits; the
  score is mIoU from the confusion matrix of the arg-max masks.

The scenes are drawn by the same generator with the same classes, image size and seed as
the milestones (so the same stamps are held out for testing): calibration images come from
the *training* stamps, evaluation images from the *test* stamps.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ai_roadmap.errors import RoadmapError

SETTINGS = {"s4.detect": "detect.json", "s4.segment": "segment.json"}
# The detector's network ops. Its box decoding (Softmax over the DFL bins, the MatMul of
# their expectation, the Concat of pixel boxes with probabilities) stays float: one INT8
# scale for a tensor holding both 0–128 px coordinates and 0–1 probabilities leaves the
# probabilities ~0.5 resolution (measured on test-stamp scenes: mAP50 0.68 → 0.22 when all
# ops were quantised, 0.68 → 0.68 with these).
DETECTOR_INT8_OPS = ("Conv", "MaxPool", "Add", "Mul", "Sigmoid", "Resize")


class DetectorGraph(nn.Module):
    """The detector with its box decoding inside: one tensor in, one tensor out."""

    def __init__(self, detector: Any) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        boxes, probs = self.detector.predict_raw(x)
        return torch.cat((boxes, probs), dim=-1)


@dataclass
class Deployable:
    """A graph, how to turn scene images into its input, and how to score its outputs."""

    item: str
    graph: nn.Module
    classes: list[str]
    size: int
    prepare: Callable[[np.ndarray], np.ndarray]  # (N, S, S, 3) uint8 → (N, 3, S, S) float32
    score: Callable[[np.ndarray, Any], float]  # (outputs, test split) → mAP50 or mIoU
    metric: str  # "map50" or "miou"
    quantize_ops: tuple[str, ...] | None = None  # ONNX ops INT8 may touch (None: all)


def _detector_score(classes: list[str], iou: float) -> Callable[[np.ndarray, Any], float]:
    from ai_roadmap.vision.detect.metrics import evaluate
    from ai_roadmap.vision.detect.nms import postprocess

    def score(outputs: np.ndarray, split: Any) -> float:
        raw = torch.from_numpy(np.asarray(outputs, dtype=np.float32))
        dets = postprocess(raw[..., :4], raw[..., 4:], 0.001, iou)
        truths = [split.targets(i) for i in range(len(split))]
        return evaluate([d.numpy() for d in dets], truths, len(classes)).map50

    return score


def _segmenter_score(n_classes: int) -> Callable[[np.ndarray, Any], float]:
    from ai_roadmap.vision.segment.masks import semantic_masks
    from ai_roadmap.vision.segment.metrics import confusion_matrix, iou_per_class

    def score(outputs: np.ndarray, split: Any) -> float:
        predicted = np.asarray(outputs).argmax(axis=1)
        cm = confusion_matrix(semantic_masks(split), predicted, n_classes)
        return float(np.nanmean(iou_per_class(cm)))

    return score


def load_deployable(item: str, folder: Path) -> Deployable:
    """The model folder of ``item`` (s4.detect or s4.segment) as a :class:`Deployable`."""
    from ai_roadmap.artifacts.torch import load_torch_model

    if item not in SETTINGS:
        raise RoadmapError(f"{item} is not a deployable vision model: s4.detect or s4.segment")
    settings_file = Path(folder) / SETTINGS[item]
    if not settings_file.is_file():
        raise RoadmapError(f"{folder} is not an {item} model folder (no {SETTINGS[item]})")
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    model, card = load_torch_model(Path(folder))
    classes = list(card.classes or settings.get("classes", []))
    if item == "s4.detect":
        from ai_roadmap.vision.detect.train import to_input

        size = int(settings["image_size"])
        return Deployable(
            item,
            DetectorGraph(model).eval(),
            classes,
            size,
            lambda images: to_input(images).numpy(),
            _detector_score(classes, float(settings.get("iou", 0.6))),
            "map50",
            DETECTOR_INT8_OPS,
        )
    from ai_roadmap.vision.segment.train import to_input as seg_input

    mean, std = list(settings["mean"]), list(settings["std"])
    return Deployable(
        item,
        model.eval(),
        classes,
        int(settings["size"]),
        lambda images: seg_input(images, mean, std, torch.device("cpu")).numpy(),
        _segmenter_score(len(classes)),
        "miou",
    )


def scene_splits(
    classes: list[str], size: int, calibration: int, evaluation: int, seed: int = 0
) -> dict[str, Any]:
    """Calibration scenes (training stamps) and evaluation scenes (test stamps)."""
    from ai_roadmap.vision.scenes import SceneConfig, composite_scenes

    classes = [c for c in classes if c != "background"]  # the segmenter's class 0
    defaults = SceneConfig()
    known = dict(zip(defaults.class_names, defaults.categories, strict=True))
    missing = [c for c in classes if c not in known]
    if missing:
        raise RoadmapError(f"the composite scenes have no class {missing[0]!r}")
    cfg = SceneConfig(
        categories=tuple(known[c] for c in classes),
        class_names=tuple(classes),
        size=size,
        n_scenes=(calibration, 1, evaluation),
        seed=seed,
    )
    return composite_scenes(cfg)
