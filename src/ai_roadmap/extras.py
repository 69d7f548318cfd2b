"""Optional dependency groups: which are installed, and the one line to install a missing one.

``pyproject.toml`` declares one extra per domain (``classic``, ``deep``, ``serve``, …,
``all``); the catalog names the extra each milestone needs. The installed package's
own metadata lists every requirement with the extra it belongs to, so the check
reads that rather than a second list kept by hand.
"""

from __future__ import annotations

import importlib.metadata
import re

from ai_roadmap.errors import RoadmapError

DISTRIBUTION = "ai-roadmap"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(extra: str) -> list[tuple[str, tuple[str, ...]]]:
    """(distribution, its extras) required by ``extra``, from the installed metadata."""
    found = []
    for line in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement, _, marker = line.partition(";")
        wanted = _EXTRA.search(marker)
        if wanted is None or wanted.group(1) != extra:
            continue
        match = _NAME.match(requirement)
        if match:
            nested = tuple(e.strip() for e in (match.group(2) or "").split(",") if e.strip())
            found.append((match.group(1), nested))
    return found


def declared() -> set[str]:
    """The extras the installed package declares."""
    return set(importlib.metadata.metadata(DISTRIBUTION).get_all("Provides-Extra") or [])


def missing(extra: str, seen: frozenset[str] = frozenset()) -> list[str]:
    """The distributions ``extra`` needs that are not installed (nested extras followed)."""
    absent = []
    for name, nested in requirements(extra):
        if _canonical(name) == DISTRIBUTION:
            for inner in nested:
                if inner not in seen:
                    absent += missing(inner, seen | {extra})
            continue
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            absent.append(name)
    return sorted(set(absent))


def require(extra: str | None, what: str) -> None:
    """A one-line :class:`RoadmapError` naming the ``pip install`` when ``extra`` is missing."""
    if extra is None:
        return
    try:
        absent = missing(extra)
    except importlib.metadata.PackageNotFoundError:  # running from a source tree, not installed
        return
    if absent:
        raise RoadmapError(
            f"{what} needs the {extra!r} extra ({', '.join(absent)} not installed): "
            f"pip install 'ai-roadmap[{extra}]'"
        )
