"""s5.versioning at smoke through the runner with every check passing; the checks failing on a
corrupted remote and an untampered workspace; the one-line errors for a missing ``dvc`` and
a dataset that is not pulled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap import tracking
from ai_roadmap.cli import app
from ai_roadmap.datasets import DATASETS
from ai_roadmap.milestones.s5.versioning import Clock, roundtrip, tamper_file
from ai_roadmap.mlops import dvc_project
from ai_roadmap.mlops.lineage import folder_digest
from ai_roadmap.runner import run_milestone
from ai_roadmap.settings import get_settings

CHECKS = (
    "repro_noop",
    "push_pull_roundtrip",
    "tamper_detected",
    "tamper_repaired",
    "param_rerun_only_dependents",
    "params_diff",
    "metrics_diff",
)


@pytest.mark.data
@pytest.mark.slow
def test_smoke_reproduces_titanic_and_every_check_passes(roadmap_home: Path) -> None:
    report = run_milestone("s5.versioning", "smoke")
    m = report.metrics
    assert m["checks_failed"] == 0, [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks_total"] == len(CHECKS) and report.verdict == "pass"
    assert [n.split(":")[0] for n in report.notes if n.startswith("PASS")] == [
        f"PASS {c}" for c in CHECKS
    ]
    assert m["stages"] == 4  # pull, prepare, train, evaluate of s0.titanic
    assert 0.6 < m["titanic_accuracy"] <= 1 and 0.6 < m["titanic_roc_auc"] <= 1
    # the metrics diff DVC printed is the difference of the two metrics files' figures
    assert m["diff_log_loss_titanic"] == pytest.approx(
        m["titanic_log_loss_after_change"] - m["titanic_log_loss"]
    )
    assert m["roundtrip_files"] >= 6 and m["roundtrip_bytes"] > 0
    for step in ("init", "repro_first", "repro_second", "push", "pull", "repro_changed"):
        assert m[f"{step}_s"] > 0, step
    assert {"dvc.yaml", "dvc.lock", "params.yaml", "checks.csv"} <= set(report.artifacts)
    assert any("LakeFS is not run" in n for n in report.notes)
    # the run says which data it saw
    tags = tracking.client(get_settings())[0].get_run(report.mlflow_run_id).data.tags
    folder = get_settings().data_root / "titanic"
    assert tags["roadmap.data.titanic"] == folder_digest(folder, DATASETS["titanic"].files)


TINY = """stages:
  make:
    cmd: >-
      python -c "import os; os.makedirs('data/d');
      open('data/d/f.bin', 'wb').write(bytes(range(256)) * 64)"
    params:
      - x
    outs:
      - data/d
"""


@pytest.fixture
def project(tmp_path: Path) -> dvc_project.DvcProject:
    """A one-stage project (a 16 KiB file under data/d) reproduced once."""
    made = dvc_project.create(tmp_path / "project", {"x": 1}, tmp_path / "remote")
    (made.root / "dvc.yaml").write_text(TINY, encoding="utf-8")
    assert made.repro() == ["make"]
    return made


def test_tampering_is_seen_and_a_corrupted_remote_fails_the_roundtrip(
    project: dvc_project.DvcProject,
) -> None:
    assert dvc_project.changed_outputs(project.json("status")) == {}  # nothing touched
    data = project.root / "data" / "d" / "f.bin"
    original = data.read_bytes()
    tamper_file(data)
    assert dvc_project.changed_outputs(project.json("status")) == {"make": ["data/d"]}
    assert project.repro() == ["restored:make"] and data.read_bytes() == original

    check, figures = roundtrip(project, Clock(), ("data",))
    assert check.passed, check.detail
    assert figures == {"roundtrip_files": 1.0, "roundtrip_bytes": float(len(original))}
    remote = project.root.parent / "remote"
    largest = max((p for p in remote.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    tamper_file(largest)  # the remote now holds different bytes under the same hash
    check, _ = roundtrip(project, Clock(), ("data",))
    assert not check.passed and "1 of 1 files differ" in check.detail


@pytest.mark.data
@pytest.mark.slow  # the runner starts MLflow before the milestone looks for dvc
def test_without_dvc_the_error_names_the_install(
    roadmap_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))  # no dvc beside it
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(app, ["run", "s5.versioning", "--scale", "smoke"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "`dvc` is not installed" in line and "pip install 'ai-roadmap[mlops]'" in line
    assert "Traceback" not in result.output


@pytest.mark.slow  # the runner starts MLflow before the milestone looks for the data
def test_without_the_dataset_the_error_names_the_pull(empty_data_home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "s5.versioning", "--scale", "smoke"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "roadmap data pull titanic" in line
    assert "Traceback" not in result.output
    assert not (empty_data_home / "runs").exists() or not any((empty_data_home / "runs").iterdir())


def test_a_bad_setting_is_a_usage_error(roadmap_home: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "s5.versioning", "--scale", "smoke", "tamper=s2.house"]
    )
    assert result.exit_code == 2
    assert "tamper must be one of milestones" in result.output
    assert "Traceback" not in result.output


def test_metrics_and_status_parsers_on_dvc_json() -> None:
    diff = json.loads(
        '{"metrics/titanic.json": {"accuracy": {"old": 0.83, "new": 0.83, "diff": 0},'
        ' "log_loss": {"old": 0.40, "new": 0.41, "diff": 0.01}}}'
    )
    assert dvc_project.changed_metrics(diff) == {"metrics/titanic.json:log_loss": 0.01}
    status = {
        "train@titanic": [{"changed deps": {"params.yaml": {"titanic": "modified"}}}],
        "pull@house": [{"changed outs": {"data/house-prices": "deleted"}}],
    }
    assert dvc_project.changed_outputs(status) == {"pull@house": ["data/house-prices"]}
