"""The roadmap as data: stages, items (milestones and learning tasks), targets and timeline.

The data lives in ``roadmap.yaml`` beside this file and is read with PyYAML only,
so listing the roadmap stays fast (no scientific library is imported here).
"""

from __future__ import annotations

import difflib
import operator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml

from ai_roadmap.errors import UsageError

Kind = Literal["milestone", "task"]

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    """A measurable bar: ``metric op threshold`` on ``dataset``.

    ``seed`` quotes the roadmap's own words; ``bars`` holds stricter per-scale
    bars this project sets on top (e.g. ``{"full": 0.120}``); the verdict at a
    scale uses the bar for that scale, else ``threshold``.
    """

    metric: str
    op: str
    threshold: float
    dataset: str
    seed: str = ""
    bars: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"target op must be one of {sorted(_OPS)}, got {self.op!r}")

    def bar(self, scale: str) -> float:
        return float(self.bars.get(scale, self.threshold))

    def met(self, value: float, scale: str) -> bool:
        return bool(_OPS[self.op](value, self.bar(scale)))

    def describe(self, scale: str | None = None) -> str:
        threshold = self.bar(scale) if scale else self.threshold
        return f"{self.metric} {self.op} {threshold:g}"


@dataclass(frozen=True)
class Item:
    """One roadmap item: a runnable ``milestone`` or a learning ``task`` to tick off."""

    id: str
    stage: int
    kind: Kind
    title_zh: str
    title_en: str
    summary: str = ""
    target: Target | None = None
    theory: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    module: str | None = None  # set from the id when ai_roadmap/milestones/ holds it
    hardware: str = "2-core CPU"
    extra: str | None = None  # the optional dependency group it needs, e.g. "deep"
    timings: dict[str, str] = field(default_factory=dict)
    plan: tuple[str, ...] = ()  # a learning task's concrete steps (`roadmap show` prints them)

    @property
    def built(self) -> bool:
        return self.module is not None


@dataclass(frozen=True)
class Stage:
    """A stage of the seed with its duration (``weeks`` at the seed's part-time pace)."""

    number: int
    title_zh: str
    title_en: str
    duration: str
    weeks: float
    goal: str = ""
    theory: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Catalog:
    stages: tuple[Stage, ...]
    items: tuple[Item, ...]
    hours_per_week: float
    part_time: str
    full_time: str
    timeline: tuple[tuple[str, str], ...]

    def get(self, item_id: str) -> Item:
        """The item with this id, or a :class:`UsageError` naming the closest ids."""
        for item in self.items:
            if item.id == item_id:
                return item
        ids = [i.id for i in self.items]
        close = difflib.get_close_matches(item_id, ids, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `roadmap list`"
        raise UsageError(f"unknown roadmap id {item_id!r}{hint}")

    def stage(self, number: int) -> Stage:
        for stage in self.stages:
            if stage.number == number:
                return stage
        raise UsageError(f"no stage {number}; stages are 0-{self.stages[-1].number}")

    def in_stage(self, number: int) -> list[Item]:
        return [i for i in self.items if i.stage == number]


MILESTONES = "ai_roadmap.milestones"


def milestone_module(item_id: str) -> str | None:
    """``s3.resnet18`` → ``ai_roadmap.milestones.s3.resnet18`` when that module exists, else None.

    Read from the package's files, so nothing is imported.
    """
    stage, _, name = item_id.partition(".")
    path = resources.files("ai_roadmap").joinpath("milestones", stage, f"{name}.py")
    return f"{MILESTONES}.{item_id}" if path.is_file() else None


def _target(raw: dict[str, Any] | None) -> Target | None:
    if not raw:
        return None
    return Target(
        metric=raw["metric"],
        op=raw["op"],
        threshold=float(raw["threshold"]),
        dataset=raw["dataset"],
        seed=raw.get("seed", ""),
        bars={k: float(v) for k, v in (raw.get("bars") or {}).items()},
    )


def _item(raw: dict[str, Any]) -> Item:
    return Item(
        id=raw["id"],
        stage=int(raw["stage"]),
        kind=raw["kind"],
        title_zh=raw["title_zh"],
        title_en=raw["title_en"],
        summary=raw.get("summary", ""),
        target=_target(raw.get("target")),
        theory=tuple(raw.get("theory") or ()),
        resources=tuple(raw.get("resources") or ()),
        datasets=tuple(raw.get("datasets") or ()),
        module=milestone_module(raw["id"]) if raw["kind"] == "milestone" else None,
        hardware=raw.get("hardware", "2-core CPU"),
        extra=raw.get("extra"),
        timings={str(k): str(v) for k, v in (raw.get("timings") or {}).items()},
        plan=tuple(raw.get("plan") or ()),
    )


def parse_catalog(data: dict[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from the YAML structure (validated on the way)."""
    stages = tuple(
        Stage(
            number=int(s["number"]),
            title_zh=s["title_zh"],
            title_en=s["title_en"],
            duration=s["duration"],
            weeks=float(s["weeks"]),
            goal=s.get("goal", ""),
            theory=tuple(s.get("theory") or ()),
            resources=tuple(s.get("resources") or ()),
        )
        for s in data["stages"]
    )
    items = tuple(_item(raw) for raw in data["items"])
    ids = [i.id for i in items]
    duplicated = {i for i in ids if ids.count(i) > 1}
    if duplicated:
        raise ValueError(f"duplicate catalog ids: {sorted(duplicated)}")
    for item in items:
        if item.kind not in ("milestone", "task"):
            raise ValueError(f"{item.id}: kind must be milestone or task")
        if item.kind == "milestone" and item.target is None:
            raise ValueError(f"{item.id}: a milestone needs a target")
    timeline = data["timeline"]
    return Catalog(
        stages=stages,
        items=items,
        hours_per_week=float(timeline["hours_per_week"]),
        part_time=timeline["part_time"],
        full_time=timeline["full_time"],
        timeline=tuple((m["months"], m["what"]) for m in timeline["months"]),
    )


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The roadmap shipped with the package."""
    text = resources.files(__package__).joinpath("roadmap.yaml").read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return parse_catalog(yaml.load(text, Loader=loader))
