"""s5.pipeline at smoke through the runner, against one Prefect test server for the session:
drift found where it was injected and only there, the broken batch quarantined, the bad
challenger rolled back in the running service within the bar, the registry left consistent,
the fault drill passed and no server left running; and the one-line error for a bad setting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.config import compose
from ai_roadmap.mlops.stream import BROKEN, CLEAN
from ai_roadmap.runner import run_milestone

pytestmark = pytest.mark.data
CHECKS = {
    "drift_found_where_injected",
    "no_drift_in_clean_months",
    "broken_batches_quarantined",
    "quarantine_never_retrains",
    "bad_challenger_rolled_back",
    "offline_gate_would_stop_bad_challenger",
    "rollback_within_bar",
    "flow_run_completed",
    "canary_share_and_stickiness_live",
    "failed_retrain_leaves_champion",
}


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One temporary Prefect API for the session (≈ 12 s to start), analytics off."""
    import os

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def _gunicorns() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "gunicorn" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.slow
def test_smoke_detects_drift_quarantines_and_rolls_back_the_bad_challenger(
    roadmap_home: Path, prefect_server: None
) -> None:
    report = run_milestone("s5.pipeline", "smoke")
    m = report.metrics
    failed = [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks_failed"] == 0, failed
    assert m["checks"] == len(CHECKS)
    assert {
        n.split(":")[0].split(" ", 1)[1] for n in report.notes if n.startswith("pass ")
    } == CHECKS
    kinds = list(compose("s5.pipeline", "smoke").stream.kinds)
    drifted = sum(k != CLEAN and k not in BROKEN for k in kinds)
    assert (m["drift_tp"], m["drift_fn"]) == (drifted, 0)
    assert (m["drift_fp"], m["drift_tn"]) == (0, kinds.count(CLEAN))
    assert m["quarantine_tp"] == m["months_quarantined"] == sum(k in BROKEN for k in kinds)
    assert report.verdict == "pass" and m["rollback_minutes"] < 5
    assert 0 < m["rollback_seconds"] < 30
    assert m["rollback_minutes"] == pytest.approx(m["rollback_seconds"] / 60)
    assert m["n_rolled_back"] >= 1 and m["retrains"] >= m["n_rolled_back"] + m["n_promoted"]
    assert {"pipeline.json", "pipeline.md", "pipeline.png", "quarantine"} <= set(report.artifacts)
    assert not _gunicorns(), "the service outlived the run"
    _registry_matches_the_run(
        report.mlflow_run_id, int(compose("s5.pipeline", "smoke").policy.bad_challenger_month)
    )


def _registry_matches_the_run(run_id: str, bad_month: int) -> None:
    """The bad challenger is tagged rolled back and is not the champion; AUCs say it was bad."""
    import tempfile

    from ai_roadmap.mlops import challenger as reg
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import client

    mlflow_client, _ = client(get_settings())
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow_client.download_artifacts(run_id, "pipeline.json", tmp)
        record = json.loads(Path(local).read_text())
    bad = next(x for x in record["months"] if x["month"] == bad_month)
    assert bad["outcome"] == "rolled-back" and bad["bad_challenger"] is True
    assert bad["challenger_auc"] < bad["champion_auc"] - 0.1
    name = "s5.pipeline.churn"
    tags = mlflow_client.get_model_version(name, bad["challenger_version"]).tags
    assert tags["roadmap.outcome"] == "rolled-back"
    champion = reg.alias_version(mlflow_client, name, reg.CHAMPION)
    assert champion == record["drills"]["champion"] != bad["challenger_version"]
    assert reg.alias_version(mlflow_client, name, reg.CHALLENGER) is None
    held = [x for x in record["months"] if x["quarantined"]]
    assert held and all("monthly_charges" in x["reason"] for x in held)
    assert all("challenger_version" not in x for x in held)


def test_a_bad_challenger_month_that_is_quarantined_is_a_usage_error(roadmap_home: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "s5.pipeline", "--scale", "smoke", "policy.bad_challenger_month=3"]
    )
    assert result.exit_code == 2
    assert "policy.bad_challenger_month must name one of the 6 months" in result.output
    assert "Traceback" not in result.output
