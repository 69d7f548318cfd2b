"""Pictures of detections: boxes and labels drawn on an image, and a grid of several."""

from __future__ import annotations

import numpy as np

COLOURS = ((230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180))


def draw_boxes(
    image: np.ndarray,
    detections: np.ndarray,
    classes: list[str],
    truths: np.ndarray | None = None,
) -> np.ndarray:
    """A copy of an RGB uint8 image with detections (n, 6) drawn in class colours and
    labelled ``class score``; true boxes (m, 4), if given, in thin white."""
    import cv2

    out = np.ascontiguousarray(image.copy())
    thick = max(1, round(max(image.shape[:2]) / 300))
    if truths is not None:
        for x1, y1, x2, y2 in truths.astype(int):
            cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), (255, 255, 255), 1)
    for x1, y1, x2, y2, score, cls in detections:
        colour = COLOURS[int(cls) % len(COLOURS)]
        p1, p2 = (int(x1), int(y1)), (int(x2) - 1, int(y2) - 1)
        cv2.rectangle(out, p1, p2, colour, thick)
        label = f"{classes[int(cls)]} {score:.2f}"
        scale = 0.35 * thick
        (w, h), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(p1[1], h + 2)
        cv2.rectangle(out, (p1[0], top - h - 2), (p1[0] + w, top), colour, -1)
        cv2.putText(
            out, label, (p1[0], top - 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1
        )
    return out


def grid(images: list[np.ndarray], columns: int = 4) -> np.ndarray:
    """Equal-sized RGB images tiled in rows of ``columns`` (blank cells padded)."""
    blank = np.zeros_like(images[0])
    cells = images + [blank] * (-len(images) % columns)
    rows = [np.hstack(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    return np.vstack(rows)
