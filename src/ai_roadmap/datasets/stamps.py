"""Real pictures for stage 4's vision track: clip-art stamps, photographs, aerial trees.

* ``tuxpaint-stamps``: Tux Paint's stamps (Debian ``tuxpaint-stamps-default``). Each
  ``X.png`` sits in a category folder (``animals/mammals/bovines``) beside ``X.txt``,
  whose first line is the English caption and whose ``zh_CN.utf8=`` line is the
  Chinese one. Most PNGs are RGBA with a clean alpha channel: the object's mask.
* ``scene-backgrounds``: the 12 photographs of MATE's ``nature`` backgrounds (Debian
  ``mate-backgrounds``). Debian 12's ``gnome-backgrounds`` 43 holds only rendered
  illustrations, so the photographs come from MATE's set.
* ``deepforest-trees``: DeepForest's 4 aerial RGB crops with tree-crown boxes in
  Pascal VOC XML (PyPI ``deepforest==2.1.0``).

Each is converted once to a folder of images and one JSON-lines index.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.datasets import require
from ai_roadmap.errors import DataFormatError

STAMP_ROOT = "./usr/share/tuxpaint/stamps/"
ALPHA_CUT = 128  # alpha ≥ this is object
ALPHA_RANGE = (0.02, 0.98)  # object fraction of a usable mask: not empty, not a full rectangle


@dataclass(frozen=True)
class Stamp:
    """One clip-art stamp of the index."""

    id: str
    file: str
    category: str
    caption_en: str
    caption_zh: str
    width: int
    height: int
    alpha_usable: bool


def read_rgba(path: Path) -> np.ndarray:
    """An image as (H, W, 4) uint8 RGBA; images without alpha get an opaque one."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataFormatError(f"{path.name} is not a readable image")
    if image.dtype != np.uint8:
        image = (image / 257).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


def alpha_usable(rgba: np.ndarray) -> bool:
    """True when the alpha channel separates an object from a transparent surround."""
    fraction = float((rgba[..., 3] >= ALPHA_CUT).mean())
    return ALPHA_RANGE[0] < fraction < ALPHA_RANGE[1]


def parse_caption(text: str) -> tuple[str, str]:
    """(English, Chinese) of a Tux Paint description file: line 1 and ``zh_CN.utf8=``."""
    lines = [line.strip() for line in text.splitlines()]
    english = lines[0] if lines and "=" not in lines[0] else ""
    chinese = next((ln.split("=", 1)[1].strip() for ln in lines if ln.startswith("zh_CN.")), "")
    return english, chinese


def convert_stamps(members: dict[str, Path], out: Path) -> None:
    """Copy every stamp PNG under ``images/`` and index it with its captions."""
    records = []
    for name in sorted(members):
        if not name.endswith(".png"):
            continue
        rel = name[len(STAMP_ROOT) :]
        rgba = read_rgba(members[name])
        caption = members.get(name[: -len(".png")] + ".txt")
        english, chinese = (
            parse_caption(caption.read_text(encoding="utf-8", errors="replace"))
            if caption
            else ("", "")
        )
        target = out / "images" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(members[name], target)
        stamp = Stamp(
            id=rel[: -len(".png")],
            file=f"images/{rel}",
            category=str(Path(rel).parent),
            caption_en=english,
            caption_zh=chinese,
            width=int(rgba.shape[1]),
            height=int(rgba.shape[0]),
            alpha_usable=alpha_usable(rgba),
        )
        records.append(stamp.__dict__)
    _write_jsonl(out / "stamps.jsonl", records)


def convert_backgrounds(members: dict[str, Path], out: Path) -> None:
    """Copy the photographs under ``images/`` and index their sizes."""
    import cv2

    records = []
    for name in sorted(members):
        image = cv2.imread(str(members[name]))
        if image is None:
            raise DataFormatError(f"{name} is not a readable image")
        target = out / "images" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(members[name], target)
        records.append(
            {
                "id": Path(name).stem,
                "file": f"images/{target.name}",
                "width": int(image.shape[1]),
                "height": int(image.shape[0]),
            }
        )
    _write_jsonl(out / "backgrounds.jsonl", records)


def parse_voc(path: Path) -> tuple[int, int, list[list[float]]]:
    """(width, height, boxes x1 y1 x2 y2) of a Pascal VOC annotation file."""
    root = ET.parse(path).getroot()
    size = root.find("size")
    if size is None:
        raise DataFormatError(f"{path.name} has no <size>")
    width, height = int(size.findtext("width", "0")), int(size.findtext("height", "0"))
    boxes = []
    for obj in root.iter("object"):
        box = obj.find("bndbox")
        if box is not None:
            boxes.append([float(box.findtext(k, "0")) for k in ("xmin", "ymin", "xmax", "ymax")])
    return width, height, boxes


def convert_trees(members: dict[str, Path], out: Path) -> None:
    """Copy the aerial images under ``images/``; one index line per image with its boxes."""
    records = []
    for name in sorted(n for n in members if n.endswith(".png")):
        width, height, boxes = parse_voc(members[name[: -len(".png")] + ".xml"])
        target = out / "images" / Path(name).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(members[name], target)
        records.append(
            {
                "id": Path(name).stem,
                "file": f"images/{target.name}",
                "width": width,
                "height": height,
                "boxes": boxes,
            }
        )
    _write_jsonl(out / "trees.jsonl", records)


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    lines = (json.dumps(r, ensure_ascii=False) for r in records)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines index."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def load_stamps() -> tuple[Path, list[Stamp]]:
    """(dataset folder, every stamp of the index)."""
    folder = require("tuxpaint-stamps")
    return folder, [Stamp(**r) for r in read_jsonl(folder / "stamps.jsonl")]


def load_backgrounds() -> tuple[Path, list[dict[str, Any]]]:
    """(dataset folder, the photographs' index records)."""
    folder = require("scene-backgrounds")
    return folder, read_jsonl(folder / "backgrounds.jsonl")


def load_trees() -> tuple[Path, list[dict[str, Any]]]:
    """(dataset folder, one record per aerial image with its ``boxes``)."""
    folder = require("deepforest-trees")
    return folder, read_jsonl(folder / "trees.jsonl")
