"""Tux Paint stamps as a small image dataset: composited on white, square, a few dozen pixels.

Each stamp with a usable alpha mask is cut to its mask's bounding box, alpha-composited on
a white square canvas (the longer side fills it, the shorter is centred) and resized to
``size`` pixels with area averaging. Its class is the first component of its category
(``animals/mammals/cats`` → ``animals``); classes with fewer than ``min_class_images``
stamps are pooled into ``other``, and categories under ``exclude`` are left out (the 180
letter glyphs of ``symbols/alphabets`` would otherwise be a fifth of the set).

The **subject** of DreamBooth is the first ``n_subject`` stamps (by id) under one
category (``animals/fish``): they are taken out of the class data, so the base model never
sees them, and a seeded ``holdout`` fraction of every class is kept apart as held-out real
images (the floor of the Fréchet distance and the comparison for nearest neighbours).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ai_roadmap.datasets.stamps import ALPHA_CUT, Stamp, load_stamps, read_rgba
from ai_roadmap.errors import UsageError

OTHER = "other"


@dataclass(frozen=True)
class StampSource:
    """Which stamps, at what size, and which of them are the subject."""

    size: int = 32  # square side in pixels
    exclude: list[str] = field(default_factory=lambda: ["symbols/alphabets"])
    min_class_images: int = 30  # smaller top-level categories are pooled into "other"
    subject: str = "animals/fish"  # category prefix of the subject's stamps
    n_subject: int = 10
    holdout: float = 0.1  # fraction of each class kept apart as held-out real images
    seed: int = 0


@dataclass
class StampImages:
    """Images as float tensors (N, 3, S, S) in [0, 1], labels index ``classes``."""

    classes: list[str]
    train: np.ndarray  # (N, 3, S, S) float32
    train_labels: np.ndarray  # (N,) int64
    heldout: np.ndarray
    heldout_labels: np.ndarray
    subject: np.ndarray  # (n_subject, 3, S, S)
    subject_ids: list[str]
    subject_class: int  # the class the subject belongs to ("animals")


def on_white(rgba: np.ndarray, size: int) -> np.ndarray:
    """Cut to the alpha box, composite on a white square, resize: (3, size, size) in [0, 1]."""
    import cv2

    ys, xs = np.nonzero(rgba[..., 3] >= ALPHA_CUT)
    part = rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    h, w = part.shape[:2]
    side = max(h, w)
    canvas = np.ones((side, side, 3), np.float32)
    y0, x0 = (side - h) // 2, (side - w) // 2
    alpha = part[..., 3:]
    canvas[y0 : y0 + h, x0 : x0 + w] = alpha * part[..., :3] + (1 - alpha) * 1.0
    small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    return np.clip(small, 0.0, 1.0).transpose(2, 0, 1)  # (S, S, 3) -> (3, S, S)


def class_names(stamps: list[Stamp], min_images: int) -> dict[str, str]:
    """Top-level category → class name (itself, or ``other`` when it has too few stamps)."""
    counts: dict[str, int] = {}
    for s in stamps:
        top = s.category.split("/")[0]
        counts[top] = counts.get(top, 0) + 1
    return {top: (top if n >= min_images else OTHER) for top, n in counts.items()}


def _excluded(stamp: Stamp, prefixes: list[str]) -> bool:
    return any(stamp.category == p or stamp.category.startswith(p + "/") for p in prefixes)


def load_stamp_images(source: StampSource) -> StampImages:
    """Read, composite and split the stamps (see the module docstring)."""
    folder, stamps = load_stamps()
    usable = [s for s in stamps if s.alpha_usable and not _excluded(s, source.exclude)]
    subject = sorted((s for s in usable if _excluded(s, [source.subject])), key=lambda s: s.id)
    if len(subject) < source.n_subject or source.n_subject < 1:
        raise UsageError(
            f"subject {source.subject!r} has {len(subject)} usable stamps, fewer than "
            f"n_subject={source.n_subject}; choose another data.subject or a smaller n_subject"
        )
    subject = subject[: source.n_subject]
    chosen = {s.id for s in subject}
    rest = [s for s in usable if s.id not in chosen and not _excluded(s, [source.subject])]
    mapping = class_names(usable, source.min_class_images)
    classes = sorted(set(mapping.values()))
    labels = np.array([classes.index(mapping[s.category.split("/")[0]]) for s in rest])
    images = np.stack([on_white(read_rgba(folder / s.file), source.size) for s in rest])
    held = _holdout_mask(labels, source.holdout, source.seed)
    subject_images = np.stack([on_white(read_rgba(folder / s.file), source.size) for s in subject])
    return StampImages(
        classes=classes,
        train=images[~held],
        train_labels=labels[~held],
        heldout=images[held],
        heldout_labels=labels[held],
        subject=subject_images,
        subject_ids=[s.id for s in subject],
        subject_class=classes.index(mapping[source.subject.split("/")[0]]),
    )


def _holdout_mask(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """True for a seeded ``fraction`` of each class (at least one image per class)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(labels), bool)
    for k in np.unique(labels):
        index = np.flatnonzero(labels == k)
        n = max(1, round(fraction * len(index))) if fraction > 0 else 0
        mask[rng.choice(index, size=n, replace=False)] = True
    return mask
