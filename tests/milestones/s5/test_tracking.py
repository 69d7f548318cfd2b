"""s5.tracking at smoke: one real `mlflow server`, s0.titanic run through it by the runner,
`roadmap status` read back, aliases moved and rolled back, the registry URI against the
serving export, two concurrent writers, lineage; every check passing, nothing left running."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from ai_roadmap.runner import run_milestone
from ai_roadmap.settings import get_settings
from ai_roadmap.tracking import latest_records

pytestmark = pytest.mark.data

CHECKS = {
    "status_shows_the_server_run",
    "cli_lists_versions_through_the_server",
    "promote_moves_champion",
    "demote_drops_challenger",
    "rollback_restores_previous_champion",
    "registry_uri_equals_serving_export",
    "concurrent_writers_lose_nothing",
    "lineage_is_complete",
}


@pytest.mark.slow
def test_smoke_runs_every_check_against_a_real_server(roadmap_home: Path) -> None:
    import mlflow

    before = {p.pid for p in psutil.Process().children(recursive=True)}  # other tests' servers
    report = run_milestone("s5.tracking", "smoke")
    m = report.metrics
    assert m["checks_failed"] == 0, [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks"] == len(CHECKS) and report.verdict == "pass"
    assert 0 < m["server_start_s"] < 120 and m["training_runs"] == 2
    # the scorecard read through the server is the runner's figure, to the last bit
    assert m["status_figure"] == m["runner_figure"] and 0.6 < m["runner_figure"] < 0.9
    assert m["champion_after_promote"] != m["champion_before"]
    assert m["champion_after_rollback"] == m["champion_before"]
    assert m["prediction_max_abs_diff"] <= 1e-6 and m["prediction_label_flips"] == 0
    assert m["passengers_compared"] + m["passengers_refused"] == 418
    assert m["passengers_compared"] >= 400
    assert m["concurrent_lost"] == 0 and m["concurrent_requests"] == 2 * 3 * 50
    assert m["concurrent_overlap_s"] > 0 and m["lineage_missing"] == 0
    assert report.artifacts == ["tracking.json"]
    names = {n.split(":")[0].split(" ", 1)[1] for n in report.notes if n[:5] in ("pass ", "FAIL ")}
    assert names == CHECKS
    # the server and every writer are gone; the caller's store took the milestone's record
    assert [p for p in psutil.Process().children(recursive=True) if p.pid not in before] == []
    assert mlflow.get_tracking_uri() == get_settings().mlflow_uri
    assert latest_records(get_settings())["s5.tracking"].verdict == "pass"


def test_a_bad_setting_is_a_one_line_usage_error() -> None:
    from ai_roadmap.config import compose, typed
    from ai_roadmap.errors import UsageError
    from ai_roadmap.milestones.s5.tracking import Config

    assert typed(compose("s5.tracking", "smoke"), Config).logging.writers == 2
    with pytest.raises(UsageError, match=r"training\.runs must be at least 2"):
        typed(compose("s5.tracking", "smoke", ["training.runs=1"]), Config)
    with pytest.raises(UsageError, match=r"unknown config key logging\.procs"):
        typed(compose("s5.tracking", "smoke", ["+logging.procs=3"]), Config)
