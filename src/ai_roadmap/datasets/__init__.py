"""Offline datasets: the manifest, ``roadmap data pull`` and the path every loader starts from.

Nothing here downloads implicitly: loaders call :func:`require`, which either
returns the converted folder or raises a one-line error naming the pull command.
"""

from __future__ import annotations

from pathlib import Path

from ai_roadmap.datasets.manifest import DATASETS, SOURCES, Dataset, Source
from ai_roadmap.errors import DataMissingError, UsageError
from ai_roadmap.settings import Settings, get_settings

__all__ = ["DATASETS", "SOURCES", "Dataset", "Source", "dataset", "require", "user_file"]


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
    return settings.data_root / name


def user_file(name: str, filename: str, settings: Settings | None = None) -> Path | None:
    """A user-supplied canonical file (``ROADMAP_DATA_DIR/<name>/<filename>``), if given."""
    settings = settings or get_settings()
    if settings.data_dir is None:
        return None
    path = settings.data_dir.expanduser() / name / filename
    return path if path.exists() else None
