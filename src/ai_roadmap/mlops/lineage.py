"""Data lineage: which bytes a run saw, as MLflow run tags.

For every dataset a milestone read through :func:`ai_roadmap.datasets.require`,
the runner records

* ``roadmap.data.<dataset>`` — the content digest of the pulled files the loaders
  read: ``sha256( Σ_files "<sha256(file)>  <file>\\n" )`` over the dataset's files in
  sorted order, i.e. the sha256 of ``sha256sum``'s output for the folder (the
  same idea as DVC's directory hash: a hash of the per-file hashes);
* ``roadmap.data.<dataset>.source.<archive>`` — the sha256 the dataset manifest
  (:mod:`ai_roadmap.datasets.manifest`) holds for each registry archive the
  files were converted from;
* ``roadmap.datasets`` — the dataset names, comma separated.

Two runs with the same ``roadmap.data.<dataset>`` read byte-identical data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ai_roadmap.datasets import SOURCES, dataset, track_used
from ai_roadmap.errors import DataMissingError
from ai_roadmap.settings import Settings, get_settings

TAG_PREFIX = "roadmap.data."


def sha256_file(path: Path) -> str:
    """The sha256 of one file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_digest(folder: Path, files: Iterable[str]) -> str:
    """sha256 of the ``"<sha256>  <file>\\n"`` lines of ``files`` (sorted) under ``folder``:
    the sha256 of what ``sha256sum FILES`` prints there."""
    lines = []
    for name in sorted(files):
        path = folder / name
        if not path.is_file():
            raise DataMissingError(f"{path} is missing; run `roadmap data pull {folder.name}`")
        lines.append(f"{sha256_file(path)}  {name}\n")
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def data_tags(names: Iterable[str], settings: Settings | None = None) -> dict[str, str]:
    """The lineage tags of the pulled datasets ``names`` (see the module docstring)."""
    settings = settings or get_settings()
    tags: dict[str, str] = {}
    chosen = sorted(set(names))
    for name in chosen:
        entry = dataset(name)
        tags[TAG_PREFIX + name] = folder_digest(settings.data_root / name, entry.files)
        for source in entry.sources:
            tags[f"{TAG_PREFIX}{name}.source.{source}"] = SOURCES[source].sha256
    if chosen:
        tags["roadmap.datasets"] = ",".join(chosen)
    return tags


@contextmanager
def datasets_used() -> Iterator[set[str]]:
    """The names of the datasets loaded inside the block (filled in as they are loaded)."""
    with track_used() as used:
        yield used


def log_data_tags(
    client: Any, run_id: str, names: Iterable[str], settings: Settings | None = None
) -> dict[str, str]:
    """Tag the MLflow run ``run_id`` with :func:`data_tags`; returns the tags."""
    from mlflow.entities import RunTag

    tags = data_tags(names, settings)
    if tags:
        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    return tags
