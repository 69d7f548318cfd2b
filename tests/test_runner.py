"""Runner: verdict logic, the MLflow record, the proxy flag, interrupted runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap import runner, tracking
from ai_roadmap.catalog import Target
from ai_roadmap.result import Result
from ai_roadmap.settings import get_settings

TARGET = Target(metric="score", op=">=", threshold=0.8, dataset="fake", bars={"full": 0.9})


@pytest.mark.parametrize(
    ("scale", "value", "proxy", "expected"),
    [
        ("quick", 0.85, False, "pass"),
        ("quick", 0.75, False, "fail"),
        ("full", 0.85, False, "fail"),  # the full-scale bar is stricter
        ("full", 0.95, False, "pass"),
        ("quick", 0.99, True, "not measured"),  # a proxy never passes the real target
    ],
)
def test_judge(scale: str, value: float, proxy: bool, expected: str) -> None:
    verdict = runner.judge(
        TARGET, Result(metrics={"score": value}, dataset="d", proxy=proxy), scale
    )
    assert verdict.verdict == expected
    assert verdict.value == value


def test_judge_missing_metric_and_declared_not_measured() -> None:
    missing = runner.judge(TARGET, Result(metrics={"other": 1.0}, dataset="d"), "quick")
    assert missing.verdict == "not measured" and "score" in missing.reason
    declared = runner.judge(
        TARGET, Result(metrics={"score": 1.0}, dataset="d", not_measured="no GPU"), "quick"
    )
    assert (declared.verdict, declared.reason) == ("not measured", "no GPU")


def test_target_ops() -> None:
    lower = Target(metric="rmsle", op="<=", threshold=0.13, dataset="x")
    assert lower.met(0.13, "quick") and not lower.met(0.131, "quick")
    with pytest.raises(ValueError):
        Target(metric="m", op="=>", threshold=1, dataset="x")


@pytest.fixture
def fake_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, roadmap_home: Path) -> Path:
    """A catalog with two fake milestones and their Hydra configs."""
    import fake_milestones

    conf = tmp_path / "conf"
    runs = {"t.fake": fake_milestones.run, "t.interrupt": fake_milestones.interrupted}
    fake_milestones.install(monkeypatch, conf, runs, TARGET, "value: 0.85\nproxy: false\n")
    return conf


def _mlflow_run(run_id: str):  # type: ignore[no-untyped-def]
    client, _ = tracking.client(get_settings())
    return client.get_run(run_id)


def test_run_records_metrics_verdict_and_artifacts(fake_catalog: Path) -> None:
    report = runner.run_milestone("t.fake", "smoke", ["value=0.7"])
    assert report.verdict == "fail" and report.metrics == {"score": 0.7}
    assert report.duration_s >= 0 and report.peak_rss_mb > 10
    run = _mlflow_run(report.mlflow_run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["roadmap.id"] == "t.fake"
    assert tags["roadmap.verdict"] == "fail"
    assert tags["roadmap.scale"] == "smoke"
    assert tags["roadmap.proxy"] == "false"
    assert tags["roadmap.git_sha"]
    assert tags["roadmap.command"] == "roadmap run t.fake --scale smoke value=0.7"
    assert "cores" in tags["roadmap.hardware"] and "GPU" in tags["roadmap.hardware"]
    assert run.data.metrics["score"] == 0.7
    assert run.data.params["value"] == "0.7"
    client, _ = tracking.client(get_settings())
    names = {a.path for a in client.list_artifacts(report.mlflow_run_id)}
    assert {"figure.txt", "result.json"} <= names
    # the private work folder is gone once the artefacts are in MLflow
    assert list((get_settings().home_dir / "runs").iterdir()) == []


def test_proxy_flag_is_recorded_and_not_passed_off(fake_catalog: Path) -> None:
    report = runner.run_milestone("t.fake", "quick", ["value=0.99", "proxy=true"])
    assert report.proxy is True and report.verdict == "not measured"
    assert "proxy" in report.reason
    assert _mlflow_run(report.mlflow_run_id).data.tags["roadmap.proxy"] == "true"


def test_scorecard_reader_matches_mlflow_client(fake_catalog: Path) -> None:
    runner.run_milestone("t.fake", "smoke", ["value=0.5"])
    second = runner.run_milestone("t.fake", "smoke", ["value=0.9"])
    settings = get_settings()
    fast = tracking.latest_records(settings)
    slow = tracking._latest_from_client(settings)
    assert fast["t.fake"].run_id == slow["t.fake"].run_id == second.mlflow_run_id
    assert fast["t.fake"].metrics["score"] == slow["t.fake"].metrics["score"] == 0.9
    assert fast["t.fake"].tags == slow["t.fake"].tags


def test_interrupted_run_leaves_nothing_finished(fake_catalog: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        runner.run_milestone("t.interrupt", "smoke")
    settings = get_settings()
    assert "t.interrupt" not in tracking.latest_records(settings)
    client, experiment_id = tracking.client(settings)
    runs = client.search_runs([experiment_id])
    assert [r.info.status for r in runs] == ["KILLED"]
    assert client.list_artifacts(runs[0].info.run_id) == []
    assert list((settings.home_dir / "runs").iterdir()) == []
