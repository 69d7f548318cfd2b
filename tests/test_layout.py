"""The house rules: one milestone module per catalog id, imports that point one way, small modules.

Floors, lowest first: the base (errors, settings, config, …, artifacts, datasets,
tracking), the library by topic, the milestones, the runner, the CLI. A module imports
only from its own floor or below (lazy imports inside functions included); a library
module never imports a milestone, a milestone never imports another milestone, and
the topics of the library import each other without cycles.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from ai_roadmap.catalog import load_catalog

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ai_roadmap"
BASE = {
    "errors": 0,
    "machine": 0,
    "settings": 1,
    "result": 1,
    "config": 1,
    "checks": 1,
    "plots": 1,
    "extras": 1,
    "catalog": 1,
    "plan": 2,
    "tracking": 2,
    "artifacts": 2,
    "datasets": 3,
}
LIBRARY = ("foundations", "classic", "deep", "training", "vision", "nlp", "deploy", "serving")
LIBRARY += ("report", "multimodal", "mlops", "sysdesign")
FLOORS = {**BASE, **dict.fromkeys(LIBRARY, 4), "milestones": 5, "runner": 6, "cli": 7}
FLOORS["__main__"] = 8
FLOORS["__init__"] = 0
LARGEST = 500  # lines; the style guide's aim is ~400


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(("ai_roadmap", *parts))] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every ai_roadmap module this file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("ai_roadmap")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ai_roadmap"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in MODULES else str(node.module))
    return names


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_built_id_has_its_module_and_every_module_is_an_id() -> None:
    catalog = load_catalog()
    milestones = {i.id for i in catalog.items if i.kind == "milestone"}
    for item in catalog.items:
        if item.built:
            assert item.module == f"ai_roadmap.milestones.{item.id}"
            assert callable(importlib.import_module(item.module).run), item.id
    under = {
        name.removeprefix("ai_roadmap.milestones.")
        for name in MODULES
        if name.startswith("ai_roadmap.milestones.") and name.count(".") == 3
    }
    assert under, "no milestone modules found"
    assert under <= milestones, f"modules that are not catalog ids: {sorted(under - milestones)}"
    assert under == {i.id for i in catalog.items if i.built}


def test_every_module_has_a_floor() -> None:
    assert not [m for m in MODULES if _top(m) not in FLOORS]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    floor = FLOORS[_top(module)]
    for imported in _imports(MODULES[module]):
        there = _top(imported)
        assert FLOORS[there] <= floor, f"{module} (floor {floor}) imports {imported}"
        if _top(module) == "milestones" and there == "milestones":
            # ai_roadmap.milestones.s3.resnet18 has three dots: a milestone, not a package
            assert imported.count(".") < 3, f"milestone {module} imports milestone {imported}"


def test_the_library_topics_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        top = _top(module)
        if FLOORS[top] != FLOORS["classic"]:
            continue
        for imported in _imports(path):
            other = _top(imported)
            if other != top and FLOORS[other] == FLOORS["classic"]:
                graph.setdefault(top, set()).add(other)

    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            n == goal or (n not in seen and reaches(n, goal, seen | {n}))
            for n in graph.get(start, ())
        )

    cycles = [top for top in graph if reaches(top, top)]
    assert not cycles, f"library topics in an import cycle: {cycles} ({graph})"


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in MODULES.items()}
    large = {m: n for m, n in sizes.items() if n > LARGEST}
    assert not large, f"modules over {LARGEST} lines: {large}"
