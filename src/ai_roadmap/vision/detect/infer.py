"""Detections on any picture with a saved detector: letterbox in, boxes back to the picture.

The picture is scaled so its longer side is the model's training size and padded to a
square (letterbox: the aspect ratio is kept), run through the detector, and the boxes
are mapped back by undoing the scale.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ai_roadmap.errors import RoadmapError


def read_picture(path: Path) -> np.ndarray:
    """An image file as RGB uint8; one-line errors for a missing or unreadable file."""
    import cv2

    if not path.is_file():
        raise RoadmapError(f"{path} does not exist; give the path of a picture (PNG, JPEG, …)")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise RoadmapError(f"{path} is not an image OpenCV can read; give a PNG or JPEG file")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """(square size × size picture, scale applied): longer side scaled to ``size``, padded grey."""
    import cv2

    h, w = image.shape[:2]
    k = size / max(h, w)
    resized = cv2.resize(
        image, (max(1, round(w * k)), max(1, round(h * k))), interpolation=cv2.INTER_AREA
    )
    out = np.full((size, size, 3), 114, np.uint8)
    out[: resized.shape[0], : resized.shape[1]] = resized
    return out, k


def detect_picture(
    model_dir: Path, image: np.ndarray, conf: float = 0.25
) -> tuple[np.ndarray, list[str]]:
    """(detections (n, 6) in the picture's pixels, class names) of a saved ``s4.detect`` model."""
    from ai_roadmap.artifacts.torch import load_torch_model
    from ai_roadmap.vision.detect.model import Detector
    from ai_roadmap.vision.detect.train import predict

    model, card = load_torch_model(model_dir)
    if not isinstance(model, Detector):
        raise RoadmapError(f"{model_dir} holds no detector; run `roadmap run s4.detect` first")
    settings = json.loads((model_dir / "detect.json").read_text(encoding="utf-8"))
    square, k = letterbox(image, int(settings["image_size"]))
    (dets,) = predict(model, square[None], conf=conf, iou=float(settings["iou"]))
    dets[:, :4] = np.clip(dets[:, :4] / k, 0, [image.shape[1], image.shape[0]] * 2)
    return dets, list(card.classes)
