"""Catalog completeness against the roadmap's id list, and its invariants."""

from __future__ import annotations

import importlib

import pytest

from ai_roadmap.catalog import load_catalog
from ai_roadmap.config import SCALES, conf_root
from ai_roadmap.errors import UsageError
from tests_ids import IDS


def test_every_roadmap_id_in_order() -> None:
    assert [item.id for item in load_catalog().items] == IDS


def test_stages_and_timeline() -> None:
    catalog = load_catalog()
    assert [s.number for s in catalog.stages] == list(range(7))
    assert all(s.weeks > 0 and s.duration for s in catalog.stages)
    assert catalog.hours_per_week == 10
    assert len(catalog.timeline) >= 6
    for item in catalog.items:
        assert item.id.startswith(f"s{item.stage}.")


def test_items_are_complete() -> None:
    for item in load_catalog().items:
        assert item.title_zh and item.title_en, item.id
        if item.kind == "milestone":
            assert item.target is not None, item.id
            assert item.target.metric and item.target.dataset, item.id
        else:
            assert item.target is None and item.module is None, item.id


@pytest.mark.parametrize("item", [i for i in load_catalog().items if i.built], ids=lambda i: i.id)
def test_built_items_have_a_run_function_and_all_scales(item) -> None:  # type: ignore[no-untyped-def]
    module = importlib.import_module(item.module)
    assert callable(module.run)
    folder = conf_root() / item.id
    assert (folder / "config.yaml").exists()
    for scale in SCALES:
        assert (folder / "scale" / f"{scale}.yaml").exists(), (item.id, scale)


def test_unknown_id_names_the_closest() -> None:
    with pytest.raises(UsageError, match=r"s0\.titanic"):
        load_catalog().get("s0.titanc")


def test_built_items_name_only_datasets_that_can_be_pulled() -> None:
    from ai_roadmap.datasets import DATASETS

    for item in load_catalog().items:
        if item.module:
            unknown = [d for d in item.datasets if d not in DATASETS]
            assert not unknown, f"{item.id} lists {unknown}, which `roadmap data pull` lacks"
