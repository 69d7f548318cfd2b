"""The composite scene generator: exact labels, split by object, determinism, atomic cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.datasets.stamps import load_stamps, parse_caption
from ai_roadmap.vision import scenes
from ai_roadmap.vision.scenes import SceneConfig, Split

SMALL = SceneConfig(name="test", n_scenes=(24, 8, 8), size=128, objects=(2, 6))


@pytest.fixture(scope="module")
def splits() -> dict[str, Split]:
    return scenes.generate(SMALL)


def test_boxes_are_tight_around_the_visible_mask(splits: dict[str, Split]) -> None:
    for split in splits.values():
        for i in range(len(split)):
            boxes, _ = split.targets(i)
            ids = sorted(set(np.unique(split.instances[i]).tolist()) - {0})
            assert ids == list(range(1, len(boxes) + 1))
            for k, (x1, y1, x2, y2) in enumerate(boxes.astype(int), start=1):
                ys, xs = np.nonzero(split.instances[i] == k)
                assert (x1, y1, x2, y2) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def test_no_stamp_image_is_in_both_train_and_held_out_scenes(splits: dict[str, Split]) -> None:
    used = {n: {s.stamp_ids[j] for j in s.stamp} for n, s in splits.items()}
    assert used["train"] and used["test"] and used["val"]
    assert not used["train"] & used["test"]
    assert not used["train"] & used["val"]
    listed = {n: set(s.stamp_ids) for n, s in splits.items()}
    assert not listed["train"] & (listed["val"] | listed["test"])


def test_every_class_appears_in_every_split(splits: dict[str, Split]) -> None:
    for split in splits.values():
        counts = np.bincount(split.label, minlength=3)
        assert counts.min() > 0 and counts.sum() == len(split.scene)


def test_class_pools_are_the_documented_categories() -> None:
    _, stamps = load_stamps()
    groups = scenes.class_stamps(stamps, SceneConfig())
    assert [len(g) for g in groups] == [41, 67, 38]  # fruit, mammals, vehicles with alpha
    assert all(s.category.startswith("vehicles") for s in groups[2])


def test_generation_is_deterministic_by_seed(splits: dict[str, Split]) -> None:
    cfg = SceneConfig(name="test", n_scenes=(4, 2, 2), size=128, objects=(2, 6))
    a, b = scenes.generate(cfg), scenes.generate(cfg)
    other = scenes.generate(SceneConfig(**{**cfg.__dict__, "seed": 1}))
    assert np.array_equal(a["train"].images, b["train"].images)
    assert np.array_equal(a["test"].box, b["test"].box)
    assert np.array_equal(a["train"].images, splits["train"].images[:4])  # same stream
    assert not np.array_equal(a["train"].images, other["train"].images)
    assert cfg.version() != SceneConfig(**{**cfg.__dict__, "seed": 1}).version()


def test_occlusion_drops_instances_hidden_beyond_the_threshold() -> None:
    square = np.zeros((20, 20, 4), np.uint8)
    square[..., 3] = 255
    under = scenes.Placement(square, 10, 10, 0, 0)
    over = scenes.Placement(square, 8, 8, 1, 1)  # covers 81 % of `under`
    image, instances = scenes.render(np.zeros((64, 64, 3), np.uint8), [under, over])
    assert scenes.visible_fraction(instances, [under, over]) == [
        pytest.approx(1 - 18 * 18 / 400),
        1.0,
    ]
    assert image.shape == (64, 64, 3)


def test_a_failed_write_leaves_no_half_dataset(
    splits: dict[str, Split], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "composite-scenes" / "test-x"
    real = np.savez
    calls = []

    def dying_savez(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the process were stopped mid-write
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "savez", dying_savez)
    with pytest.raises(KeyboardInterrupt):
        scenes.save(splits, SMALL, folder)
    assert not folder.exists()
    assert list(folder.parent.iterdir()) == []  # nor its temporary folder
    monkeypatch.setattr(np, "savez", real)
    scenes.save(splits, SMALL, folder)
    loaded = scenes.load(folder)
    assert np.array_equal(loaded["test"].instances, splits["test"].instances)
    assert loaded["train"].stamp_ids == splits["train"].stamp_ids


def test_captions_read_english_and_chinese() -> None:
    text = "A badger.\nde.utf8=Ein Dachs.\nzh_CN.utf8=獾。\nzh_TW.utf8=獾。\n"
    assert parse_caption(text) == ("A badger.", "獾。")
    _, stamps = load_stamps()
    assert sum(bool(s.caption_zh) for s in stamps) > 600
