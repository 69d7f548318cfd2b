"""The data layer: hash checks, member extraction, atomic pulls, missing-data messages."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from ai_roadmap import datasets
from ai_roadmap.datasets import pull as pull_module
from ai_roadmap.datasets.manifest import DATASETS, SOURCES, Dataset, Source
from ai_roadmap.errors import DataMissingError, IntegrityError
from ai_roadmap.settings import get_settings


def _zip(path: Path, members: dict[str, bytes]) -> str:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source(filename: str, sha: str, members: tuple[str, ...]) -> Source:
    return Source(
        name="fake-1.0",
        registry="pypi",
        package="fake",
        version="1.0",
        filename=filename,
        sha256=sha,
        members=members,
        licence="MIT",
    )


def test_manifest_entries_are_consistent() -> None:
    for dataset in DATASETS.values():
        assert dataset.files and dataset.sources
        for name in dataset.sources:
            source = SOURCES[name]
            assert len(source.sha256) == 64 and source.members
            assert source.version in source.filename


def test_missing_dataset_names_the_pull_command(empty_data_home: Path) -> None:
    with pytest.raises(DataMissingError, match=r"run `roadmap data pull titanic`"):
        datasets.require("titanic")


def test_hash_mismatch_is_refused(empty_data_home: Path) -> None:
    settings = get_settings()
    settings.downloads_dir.mkdir(parents=True)
    archive = settings.downloads_dir / "fake-1.0-py3-none-any.whl"
    _zip(archive, {"fake/data.csv": b"a,b\n1,2\n"})
    source = _source(archive.name, "0" * 64, ("fake/data.csv",))
    with pytest.raises(IntegrityError, match="does not match"):
        pull_module.fetch(source, settings)


def test_extract_takes_only_listed_members(tmp_path: Path) -> None:
    archive = tmp_path / "pkg.whl"
    _zip(archive, {"pkg/a.json": b"1", "pkg/b.json": b"2", "pkg/code.py": b"x"})
    got = pull_module.extract(_source(archive.name, "", ("pkg/*.json",)), archive, tmp_path / "x")
    assert sorted(got) == ["pkg/a.json", "pkg/b.json"]
    assert not (tmp_path / "x" / "pkg" / "code.py").exists()
    tgz = tmp_path / "pkg.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        info = tarfile.TarInfo("package/src/1.json")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"{}"))
    got = pull_module.extract(_source(tgz.name, "", ("package/src/*.json",)), tgz, tmp_path / "y")
    assert got["package/src/1.json"].read_bytes() == b"{}"
    with pytest.raises(IntegrityError, match="lacks"):
        pull_module.extract(_source(tgz.name, "", ("package/missing.json",)), tgz, tmp_path / "z")


def test_failed_conversion_leaves_no_half_written_dataset(
    empty_data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    settings.downloads_dir.mkdir(parents=True)
    archive = settings.downloads_dir / "fake-1.0-py3-none-any.whl"
    sha = _zip(archive, {"fake/data.csv": b"a,b\n1,2\n"})
    monkeypatch.setitem(SOURCES, "fake-1.0", _source(archive.name, sha, ("fake/data.csv",)))
    broken = Dataset(
        name="fake",
        description="",
        sources=("fake-1.0",),
        convert="tests_ids:no_such_function",
        files=("x.parquet",),
        licence="MIT",
    )
    monkeypatch.setitem(DATASETS, "fake", broken)
    with pytest.raises(AttributeError):
        pull_module.pull("fake", settings)
    assert not (settings.data_root / "fake").exists()
    assert [p.name for p in settings.data_root.iterdir()] == ["_archives"]
    # with a working converter the same archive is used offline (no client runs)
    monkeypatch.setitem(sys.modules, "fake_converter", ModuleType("fake_converter"))
    sys.modules["fake_converter"]._convert_fake = _convert_fake  # type: ignore[attr-defined]
    monkeypatch.setitem(DATASETS, "fake", replace(broken, convert="fake_converter:_convert_fake"))
    folder = pull_module.pull("fake", settings)
    assert (folder / "x.parquet").read_text() == "a,b\n1,2\n"
    assert datasets.require("fake") == folder


def _convert_fake(members: dict[str, Path], out: Path) -> None:
    (out / "x.parquet").write_text(members["fake/data.csv"].read_text())
