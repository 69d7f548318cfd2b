"""Offline datasets: the manifest, ``roadmap data pull`` and the path every loader starts from.

Nothing here downloads implicitly: loaders call :func:`require`, which either
returns the converted folder or raises a one-line error naming the pull command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from ai_roadmap.datasets.manifest import DATASETS, SOURCES, Dataset, Source
from ai_roadmap.errors import DataMissingError, UsageError
from ai_roadmap.settings import Settings, get_settings

__all__ = [
    "DATASETS",
    "SOURCES",
    "Dataset",
    "Source",
    "dataset",
    "require",
    "track_used",
    "user_file",
]

# the datasets :func:`require` handed out inside a :func:`track_used` block (run lineage)
_USED: ContextVar[set[str] | None] = ContextVar("ai_roadmap_datasets_used", default=None)


def dataset(name: str) -> Dataset:
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(
            f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}"
        ) from None


def is_pulled(name: str, settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    folder = settings.data_root / name
    return all((folder / f).exists() for f in dataset(name).files)


def require(name: str, settings: Settings | None = None) -> Path:
    """The folder of a pulled dataset, or a :class:`DataMissingError` with the fix."""
    settings = settings or get_settings()
    if not is_pulled(name, settings):
        raise DataMissingError(
            f"dataset {name!r} is not on this machine ({settings.data_root / name}); "
            f"run `roadmap data pull {name}`"
        )
    used = _USED.get()
    if used is not None:
        used.add(name)
    return settings.data_root / name


@contextmanager
def track_used() -> Iterator[set[str]]:
    """The names of the pulled datasets :func:`require` hands out inside the block.

    The runner wraps a milestone in it so the run can record which data it read.
    """
    used: set[str] = set()
    token = _USED.set(used)
    try:
        yield used
    finally:
        _USED.reset(token)


def user_file(name: str, filename: str, settings: Settings | None = None) -> Path | None:
    """A user-supplied canonical file (``ROADMAP_DATA_DIR/<name>/<filename>``), if given."""
    settings = settings or get_settings()
    if settings.data_dir is None:
        return None
    path = settings.data_dir.expanduser() / name / filename
    return path if path.exists() else None
