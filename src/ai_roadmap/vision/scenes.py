"""Composite scenes: real clip-art stamps pasted by their alpha masks onto real photographs.

Each scene is a random crop of a nature photograph (``scene-backgrounds``) with a few
Tux Paint stamps (``tuxpaint-stamps``) of the chosen classes pasted on it, each at a
random scale, position, rotation and flip. Stamps pasted later cover earlier ones, so
objects overlap and occlude each other. The labels come from the pasted alpha, after
occlusion: ``instances[y, x] = k`` where stamp k is what is seen at that pixel (alpha
≥ 128), so every instance mask is the *visible* object and every box is the tight box
of that mask. An instance whose visible area is below ``min_visible`` of its whole
pasted area (covered by others or cut by the frame) is removed and the scene rendered
again without it, so no unlabelled fragment remains.

Split by object: each class's stamp images are shuffled once and dealt into train,
validation and test groups, so the objects of validation/test scenes are pictures the
training scenes never show — the score measures recognising a class, not a picture.

The set is a named, versioned dataset: its version is a hash of the generator's
parameters and the sources' sha256, and it is written to a temporary folder under the
data home and renamed into place when complete (:func:`composite_scenes`).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ai_roadmap.datasets import SOURCES, dataset
from ai_roadmap.datasets.stamps import ALPHA_CUT, Stamp, load_backgrounds, load_stamps, read_rgba
from ai_roadmap.errors import UsageError
from ai_roadmap.settings import Settings, get_settings

GENERATOR_VERSION = 1  # bump when the rendering changes: it is part of the dataset version
SPLITS = ("train", "val", "test")
SCENES_DIR = "composite-scenes"


@dataclass(frozen=True)
class SceneConfig:
    """What the generator draws; every field enters the dataset version."""

    name: str = "stamps3"
    categories: tuple[str, ...] = ("food/fruit", "animals/mammals", "vehicles")  # prefixes
    class_names: tuple[str, ...] = ("fruit", "mammal", "vehicle")
    size: int = 256  # square scene side, pixels
    n_scenes: tuple[int, int, int] = (600, 150, 200)  # train, val, test
    holdout: tuple[float, float] = (0.15, 0.2)  # fraction of each class's stamps: val, test
    objects: tuple[int, int] = (1, 5)  # stamps tried per scene, inclusive
    scale: tuple[float, float] = (0.18, 0.55)  # longer side of a stamp / scene side
    max_rotation: float = 25.0  # degrees, uniform in ±
    min_visible: float = 0.4  # fraction of a pasted stamp that must stay visible
    seed: int = 0
    sources: tuple[str, ...] = field(default=("tuxpaint-stamps", "scene-backgrounds"))

    def __post_init__(self) -> None:
        if len(self.categories) != len(self.class_names) or not self.categories:
            raise ValueError("categories and class_names must be non-empty and of equal length")
        if len(self.n_scenes) != 3 or min(self.n_scenes) < 1:
            raise ValueError("n_scenes must give train, val and test counts ≥ 1")
        if not 0 < self.min_visible <= 1:
            raise ValueError("min_visible must be in (0, 1]")

    def version(self) -> str:
        """Hash of the parameters, the generator version and the sources' sha256."""
        digests = [
            SOURCES[s].sha256 + SOURCES[s].members_digest
            for name in self.sources
            for s in dataset(name).sources
        ]
        blob = json.dumps([asdict(self), GENERATOR_VERSION, digests], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class Split:
    """One split: images, instance maps and per-instance labels.

    images (N, S, S, 3) uint8 RGB · instances (N, S, S) uint8, 0 = background, k = the
    scene's k-th instance · per instance (M rows): scene, label (class index), box
    (x1, y1, x2, y2; pixel edges, x2/y2 exclusive), stamp (index into ``stamp_ids``).
    """

    images: np.ndarray
    instances: np.ndarray
    scene: np.ndarray
    label: np.ndarray
    box: np.ndarray
    stamp: np.ndarray
    stamp_ids: list[str]

    def targets(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(boxes (m, 4) float32, labels (m,) int64) of scene ``i``."""
        rows = self.scene == i
        return self.box[rows].astype(np.float32), self.label[rows].astype(np.int64)

    def __len__(self) -> int:
        return int(self.images.shape[0])


# ── choosing and splitting the stamps ─────────────────────────────────────────────────


def class_stamps(stamps: list[Stamp], cfg: SceneConfig) -> list[list[Stamp]]:
    """Per class, the stamps with a usable alpha mask whose category starts with its prefix."""
    groups = []
    for prefix in cfg.categories:
        chosen = [
            s
            for s in stamps
            if s.alpha_usable and (s.category == prefix or s.category.startswith(prefix + "/"))
        ]
        if len(chosen) < 3:
            raise UsageError(f"category {prefix!r} has {len(chosen)} usable stamps; need ≥ 3")
        groups.append(sorted(chosen, key=lambda s: s.id))
    return groups


def split_by_object(groups: list[list[Stamp]], cfg: SceneConfig) -> dict[str, list[list[Stamp]]]:
    """Deal each class's stamps into disjoint train / val / test groups (seeded)."""
    rng = np.random.default_rng(cfg.seed)
    out: dict[str, list[list[Stamp]]] = {s: [] for s in SPLITS}
    for group in groups:
        order = [group[i] for i in rng.permutation(len(group))]
        n_val = max(1, round(cfg.holdout[0] * len(order)))
        n_test = max(1, round(cfg.holdout[1] * len(order)))
        out["val"].append(order[:n_val])
        out["test"].append(order[n_val : n_val + n_test])
        out["train"].append(order[n_val + n_test :])
    return out


# ── rendering one scene ───────────────────────────────────────────────────────────────


def crop_to_alpha(rgba: np.ndarray) -> np.ndarray:
    """The stamp cut to the bounding box of its mask."""
    ys, xs = np.nonzero(rgba[..., 3] >= ALPHA_CUT)
    return rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def transform_stamp(rgba: np.ndarray, side: float, angle: float, flip: bool) -> np.ndarray:
    """Scale the longer side to ``side`` px, flip, rotate by ``angle``° on an enlarged canvas."""
    import cv2

    h, w = rgba.shape[:2]
    k = side / max(h, w)
    size = (max(2, round(w * k)), max(2, round(h * k)))
    out = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    if flip:
        out = out[:, ::-1]
    h, w = out.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(rot[0, 0]), abs(rot[0, 1])
    nw, nh = math.ceil(h * sin + w * cos), math.ceil(h * cos + w * sin)
    rot[0, 2] += nw / 2 - w / 2
    rot[1, 2] += nh / 2 - h / 2
    warped = cv2.warpAffine(np.ascontiguousarray(out), rot, (nw, nh), flags=cv2.INTER_LINEAR)
    return crop_to_alpha(warped)


@dataclass
class Placement:
    """A transformed stamp and its top-left corner in the scene (may lie partly outside)."""

    rgba: np.ndarray
    x: int
    y: int
    label: int
    stamp: int


def _window(p: Placement, size: int) -> tuple[slice, slice, slice, slice]:
    """(scene rows, scene cols, stamp rows, stamp cols) of the part inside the frame."""
    h, w = p.rgba.shape[:2]
    y0, x0, y1, x1 = max(p.y, 0), max(p.x, 0), min(p.y + h, size), min(p.x + w, size)
    return (
        slice(y0, y1),
        slice(x0, x1),
        slice(y0 - p.y, y1 - p.y),
        slice(x0 - p.x, x1 - p.x),
    )


def render(background: np.ndarray, placements: list[Placement]) -> tuple[np.ndarray, np.ndarray]:
    """Alpha-composite the placements in order: (image (S, S, 3) uint8, instance map uint8)."""
    size = background.shape[0]
    image = background.astype(np.float32)
    instances = np.zeros((size, size), np.uint8)
    for k, p in enumerate(placements, start=1):
        rows, cols, srows, scols = _window(p, size)
        part = p.rgba[srows, scols].astype(np.float32)
        alpha = part[..., 3:] / 255.0
        image[rows, cols] = alpha * part[..., :3] + (1 - alpha) * image[rows, cols]
        instances[rows, cols][part[..., 3] >= ALPHA_CUT] = k
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), instances


def visible_fraction(instances: np.ndarray, placements: list[Placement]) -> list[float]:
    """Per placement, visible mask pixels / its whole mask (frame cuts count as hidden)."""
    counts = np.bincount(instances.ravel(), minlength=len(placements) + 1)
    return [
        float(counts[k]) / max(1, int((p.rgba[..., 3] >= ALPHA_CUT).sum()))
        for k, p in enumerate(placements, start=1)
    ]


def tight_boxes(instances: np.ndarray, n: int) -> np.ndarray:
    """(n, 4) x1, y1, x2, y2 of each instance's visible pixels (x2, y2 exclusive)."""
    boxes = np.zeros((n, 4), np.float32)
    for k in range(1, n + 1):
        ys, xs = np.nonzero(instances == k)
        boxes[k - 1] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return boxes


def background_crop(photo: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop (35–100 % of the shorter side) resized to ``size``, maybe flipped."""
    import cv2

    h, w = photo.shape[:2]
    side = int(min(h, w) * rng.uniform(0.35, 1.0))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = cv2.resize(photo[y : y + side, x : x + side], (size, size), interpolation=cv2.INTER_AREA)
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def draw_scene(
    photo: np.ndarray,
    pool: list[list[tuple[int, np.ndarray]]],
    cfg: SceneConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, list[Placement]]:
    """One scene from a photograph and, per class, (stamp index, cropped RGBA) to draw from."""
    background = background_crop(photo, cfg.size, rng)
    placements = []
    for _ in range(int(rng.integers(cfg.objects[0], cfg.objects[1] + 1))):
        label = int(rng.integers(len(pool)))
        stamp, rgba = pool[label][int(rng.integers(len(pool[label])))]
        side = rng.uniform(*cfg.scale) * cfg.size
        angle = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
        moved = transform_stamp(rgba, side, angle, bool(rng.random() < 0.5))
        h, w = moved.shape[:2]
        x = int(rng.integers(-w // 4, cfg.size - 3 * w // 4 + 1))
        y = int(rng.integers(-h // 4, cfg.size - 3 * h // 4 + 1))
        placements.append(Placement(moved, x, y, label, stamp))
    image, instances = render(background, placements)
    # drop what is hidden beyond the threshold, then render again without it: dropping can
    # only uncover the others, so one pass leaves every kept instance above the threshold
    kept = [
        p
        for p, f in zip(placements, visible_fraction(instances, placements), strict=True)
        if f >= cfg.min_visible
    ]
    if len(kept) < len(placements):
        image, instances = render(background, kept)
    return image, instances, kept


def generate_split(
    photos: list[np.ndarray],
    pool: list[list[tuple[int, np.ndarray]]],
    n: int,
    cfg: SceneConfig,
    rng: np.random.Generator,
    stamp_ids: list[str],
) -> Split:
    """``n`` scenes drawn with ``rng``."""
    images = np.zeros((n, cfg.size, cfg.size, 3), np.uint8)
    maps = np.zeros((n, cfg.size, cfg.size), np.uint8)
    scene, label, box, stamp = [], [], [], []
    for i in range(n):
        photo = photos[int(rng.integers(len(photos)))]
        images[i], maps[i], kept = draw_scene(photo, pool, cfg, rng)
        box.append(tight_boxes(maps[i], len(kept)))
        scene += [i] * len(kept)
        label += [p.label for p in kept]
        stamp += [p.stamp for p in kept]
    return Split(
        images=images,
        instances=maps,
        scene=np.asarray(scene, np.int32),
        label=np.asarray(label, np.int64),
        box=np.concatenate(box) if box else np.zeros((0, 4), np.float32),
        stamp=np.asarray(stamp, np.int32),
        stamp_ids=stamp_ids,
    )


def generate(cfg: SceneConfig) -> dict[str, Split]:
    """Every split, from the pulled stamps and photographs (deterministic in ``cfg.seed``)."""
    import cv2

    stamps_dir, stamps = load_stamps()
    photos_dir, photo_index = load_backgrounds()
    photos = []
    for record in photo_index:  # photographs are big: keep them at most 1024 px on a side
        raw = cv2.imread(str(photos_dir / record["file"]))
        if raw is None:
            raise UsageError(f"{record['file']} is unreadable; run `roadmap data pull --force`")
        photo = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
        k = 1024 / max(photo.shape[:2])
        photos.append(cv2.resize(photo, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
    groups = split_by_object(class_stamps(stamps, cfg), cfg)
    out = {}
    for index, name in enumerate(SPLITS):
        ids = [s.id for group in groups[name] for s in group]
        pool, offset = [], 0
        for group in groups[name]:
            pool.append(
                [
                    (offset + j, crop_to_alpha(read_rgba(stamps_dir / s.file)))
                    for j, s in enumerate(group)
                ]
            )
            offset += len(group)
        rng = np.random.default_rng([cfg.seed, index])
        out[name] = generate_split(photos, pool, cfg.n_scenes[index], cfg, rng, ids)
    return out


# ── the cached, versioned dataset ─────────────────────────────────────────────────────


def scenes_folder(cfg: SceneConfig, settings: Settings | None = None) -> Path:
    """``<data home>/composite-scenes/<name>-<version>``."""
    settings = settings or get_settings()
    return settings.data_root / SCENES_DIR / f"{cfg.name}-{cfg.version()}"


def save(splits: dict[str, Split], cfg: SceneConfig, folder: Path) -> None:
    """Write every split into ``folder`` atomically: a temporary folder renamed when done."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}-") as tmp:
        for name, split in splits.items():
            np.savez(
                Path(tmp) / f"{name}.npz",
                images=split.images,
                instances=split.instances,
                scene=split.scene,
                label=split.label,
                box=split.box,
                stamp=split.stamp,
            )
        meta = {
            "name": cfg.name,
            "version": cfg.version(),
            "config": asdict(cfg),
            "classes": list(cfg.class_names),
            "stamp_ids": {n: s.stamp_ids for n, s in splits.items()},
            "instances": {
                n: np.bincount(s.label, minlength=len(cfg.class_names)).tolist()
                for n, s in splits.items()
            },
        }
        (Path(tmp) / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        Path(tmp).chmod(0o755)  # readable by every user of a shared data home
        Path(tmp).rename(folder)
        Path(tmp).mkdir()  # TemporaryDirectory removes it again on exit


def load(folder: Path) -> dict[str, Split]:
    """The splits saved by :func:`save`."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    out = {}
    for name in SPLITS:
        with np.load(folder / f"{name}.npz") as data:
            out[name] = Split(
                **{k: data[k] for k in ("images", "instances", "scene", "label", "box", "stamp")},
                stamp_ids=meta["stamp_ids"][name],
            )
    return out


def composite_scenes(cfg: SceneConfig, settings: Settings | None = None) -> dict[str, Split]:
    """The composite set of ``cfg``: loaded from the data home, generated there first if new."""
    folder = scenes_folder(cfg, settings)
    if not (folder / "meta.json").exists():
        save(generate(cfg), cfg, folder)
    return load(folder)
