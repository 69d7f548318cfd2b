"""s5.monitor at smoke: a stand-in model behind a real Gunicorn, Debian's prometheus scraping
it, promtool on the rules, a wrk load, a drifted window, the dashboard in headless Chromium;
every check passing and every process gone afterwards; and the one-line error for a bad setting."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.runner import run_milestone

pytestmark = pytest.mark.data

CHECKS = {
    "promtool_check_rules", "promtool_test_rules", "broken_rule_fails", "promtool_check_config",
    "scraped_up", "clean_window_below_bar", "psi_equals_offline_clean", "load_answered",
    "p99_bounded_by_client", "drift_batch_accepted", "psi_gauge_crosses_bar", "psi_alert_fires",
    "psi_equals_offline", "model_version_gauge", "prediction_distribution", "canary_share_gauge",
    "gpu_reported_honestly", "dashboard_panels_have_data", "screenshot_not_blank",
}  # fmt: skip


@pytest.mark.slow
def test_smoke_watches_the_service_with_prometheus_and_every_check_passes(
    roadmap_home: Path,
) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    report = run_milestone("s5.monitor", "smoke")
    m = report.metrics
    failed = [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks_failed"] == 0, failed
    assert m["checks"] == len(CHECKS)
    assert {
        n.split(":")[0].split(" ", 1)[1] for n in report.notes if n[:5] in ("pass ", "FAIL ")
    } == CHECKS
    assert report.verdict == "pass" and "stand-in for s0.titanic" in report.notes[0]
    # the drifted window moved the gauge from "stable" to "act"; the clean one did not
    assert m["psi_max_clean"] < 0.25 < m["psi_max_drifted"]
    assert m["drift_Age"] > 0.25 and m["drift_Sex"] > 0.25 and m["drift_Pclass"] < 0.25
    assert m["psi_offline_max_abs_diff_drifted"] < 1e-9 and m["alert_RoadmapFeatureDrift"] == 1
    # Prometheus' P99 never above the upper edge of wrk's P99 bucket; both recorded
    assert 0 < m["p99_ms_prometheus"] <= m["p99_bucket_high_ms"]
    assert m["p99_bucket_low_ms"] < m["p99_ms_client"] <= m["p99_bucket_high_ms"]
    assert m["load_requests"] > 100 and m["rps_prometheus"] > 0 and m["up"] == 1
    assert m["gpu_present"] in (0.0, 1.0) and m["canary_share"] == 0.0
    assert m["dashboard_panels_with_data"] == m["dashboard_panels"] == 8
    expected = {"dashboard.html", "dashboard.png", "prometheus.yml", "rules.yml"}
    assert expected | {"rules_test.yml", "roadmap-monitor.json", "monitor.json"} <= set(
        report.artifacts
    )
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before  # gunicorn, prometheus, wrk and chromium all stopped


def test_a_bad_setting_is_a_usage_error(roadmap_home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "s5.monitor", "--scale", "smoke", "model.source=hub"])
    assert result.exit_code == 2
    assert "model.source must be registry or stand-in" in result.output
    assert "Traceback" not in result.output


def test_the_shipped_dashboard_is_valid_grafana_json() -> None:
    from importlib import resources

    text = resources.files("ai_roadmap.mlops").joinpath("dashboards/roadmap-monitor.json")
    dashboard = json.loads(text.read_text())
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    assert all(p["datasource"]["uid"] == "${DS_PROMETHEUS}" for p in dashboard["panels"])
