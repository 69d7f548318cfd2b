"""The image–caption pairs of the Tux Paint stamps, split by image, and their pixels.

Every stamp with an English caption is one pair (image, English caption) and, where
its description file has a ``zh_CN`` line, also (image, Chinese caption). The split
is by image: a seeded permutation of the stamps deals ``test_fraction`` of them to
the test split, so no test picture is ever seen in training. Captions are not unique
("A frog." names two pictures), so a test caption may also caption a training
picture; :func:`split_report` counts those.

Pixels are read once: each RGBA stamp is scaled so its longer side is ``side`` and
centred on a transparent square, kept as uint8 ``(N, 4, side, side)``; the alpha
channel lets augmentation paste it on any background.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ai_roadmap.datasets.stamps import Stamp, load_stamps, read_rgba
from ai_roadmap.errors import UsageError


@dataclass(frozen=True)
class Pair:
    """One stamp: its id, image file (relative to the dataset), category and captions."""

    id: str
    file: str
    category: str
    caption_en: str
    caption_zh: str  # "" when the stamp has no Chinese caption


@dataclass(frozen=True)
class PairSplit:
    """Indices into the pair list: which stamps train and which are held out."""

    train: tuple[int, ...]
    test: tuple[int, ...]


def pairs_from_stamps(stamps: list[Stamp]) -> list[Pair]:
    """Stamps with an English caption, sorted by id (the order every index refers to)."""
    chosen = sorted((s for s in stamps if s.caption_en.strip()), key=lambda s: s.id)
    return [
        Pair(s.id, s.file, s.category, s.caption_en.strip(), s.caption_zh.strip()) for s in chosen
    ]


def load_pairs(limit: int | None = None, seed: int = 0) -> tuple[Path, list[Pair]]:
    """(dataset folder, pairs); ``limit`` keeps a seeded random subset (smoke runs)."""
    folder, stamps = load_stamps()
    pairs = pairs_from_stamps(stamps)
    if limit is not None and limit < len(pairs):
        keep = np.sort(np.random.default_rng(seed).permutation(len(pairs))[:limit])
        pairs = [pairs[i] for i in keep]
    return folder, pairs


def split_by_image(n: int, test_fraction: float, seed: int) -> PairSplit:
    """A seeded permutation of ``range(n)``: the first ``round(f · n)`` are the test images."""
    if not 0 < test_fraction < 1:
        raise UsageError(f"split.test_fraction must be in (0, 1), got {test_fraction}")
    n_test = round(test_fraction * n)
    if n_test < 2 or n - n_test < 2:
        raise UsageError(f"{n} pairs cannot give ≥ 2 train and ≥ 2 test images; use more pairs")
    order = np.random.default_rng(seed).permutation(n)
    return PairSplit(tuple(sorted(order[n_test:].tolist())), tuple(sorted(order[:n_test].tolist())))


def split_report(pairs: list[Pair], split: PairSplit) -> dict[str, float]:
    """Sizes of both splits, Chinese-captioned counts and test captions also seen in training."""
    train_en = {pairs[i].caption_en for i in split.train}
    train_zh = {pairs[i].caption_zh for i in split.train if pairs[i].caption_zh}
    test = [pairs[i] for i in split.test]
    return {
        "train_images": float(len(split.train)),
        "test_images": float(len(test)),
        "train_zh_captions": float(sum(bool(pairs[i].caption_zh) for i in split.train)),
        "test_zh_captions": float(sum(bool(p.caption_zh) for p in test)),
        "test_en_captions_seen_in_train": float(sum(p.caption_en in train_en for p in test)),
        "test_zh_captions_seen_in_train": float(sum(p.caption_zh in train_zh for p in test)),
    }


def letterbox(rgba: np.ndarray, side: int) -> np.ndarray:
    """Scale the longer side to ``side`` and centre on a transparent square: (side, side, 4)."""
    import cv2

    h, w = rgba.shape[:2]
    k = side / max(h, w)
    size = (max(1, round(w * k)), max(1, round(h * k)))
    scaled = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    out = np.zeros((side, side, 4), np.uint8)
    y, x = (side - size[1]) // 2, (side - size[0]) // 2
    out[y : y + size[1], x : x + size[0]] = scaled
    return out


def load_pixels(folder: Path, pairs: list[Pair], side: int) -> torch.Tensor:
    """(N, 4, side, side) uint8 RGBA of every pair's image, letterboxed."""
    arrays = [letterbox(read_rgba(folder / p.file), side) for p in pairs]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
