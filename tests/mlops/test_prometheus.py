"""The rules through the real promtool (check, unit test, a broken rule, a wrong expectation),
and the shipped Grafana dashboard's queries against what the service and the rules export."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from ai_roadmap.mlops import prometheus as prom
from ai_roadmap.mlops.dashboard import grafana_dashboard, legend
from ai_roadmap.mlops.traffic import bucket_bounds
from ai_roadmap.serving.observability import LATENCY_BUCKETS


def _write(folder: Path, bars: prom.RuleBars, test_bars: prom.RuleBars | None = None) -> None:
    prom.write_yaml(folder / "rules.yml", prom.rules(bars))
    spec = prom.rules_test(test_bars or bars, "rules.yml", LATENCY_BUCKETS)
    prom.write_yaml(folder / "rules_test.yml", spec)


def test_our_rules_pass_check_and_their_unit_tests(tmp_path: Path) -> None:
    _write(tmp_path, prom.RuleBars())
    rc, out = prom.promtool("check", "rules", "rules.yml", cwd=tmp_path)
    assert rc == 0 and "SUCCESS: 5 rules found" in out
    rc, out = prom.promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert rc == 0 and "SUCCESS" in out, out


def test_the_unit_tests_fail_when_the_rules_miss_the_expected_alerts(tmp_path: Path) -> None:
    # the rules page on PSI > 10 and P99 > 2 s; the test expects alerts at 0.25 and 50 ms
    _write(tmp_path, prom.RuleBars(psi=10.0, p99_s=2.0), prom.RuleBars())
    rc, out = prom.promtool("test", "rules", "rules_test.yml", cwd=tmp_path)
    assert rc != 0 and "RoadmapFeatureDrift" in out and "RoadmapLatencyP99High" in out


def test_a_broken_rule_fails_the_check(tmp_path: Path) -> None:
    prom.write_yaml(tmp_path / "broken.yml", prom.broken_rules())
    rc, out = prom.promtool("check", "rules", "broken.yml", cwd=tmp_path)
    assert rc == 1 and "unclosed left parenthesis" in out


def test_a_bar_the_buckets_cannot_straddle_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot straddle"):
        prom.rules_test(prom.RuleBars(p99_s=0.0005), "rules.yml", LATENCY_BUCKETS)
    with pytest.raises(ValueError, match="error_rate"):
        replace(prom.RuleBars(), error_rate=1.5)


def test_bucket_bounds_are_the_histograms_le_edges() -> None:
    assert bucket_bounds(0.003, LATENCY_BUCKETS) == (0.0025, 0.005)
    assert bucket_bounds(0.005, LATENCY_BUCKETS) == (0.0025, 0.005)  # le: upper edge inclusive
    assert bucket_bounds(0.0001, LATENCY_BUCKETS) == (0.0, 0.001)
    assert bucket_bounds(9.0, LATENCY_BUCKETS) == (2.5, float("inf"))


def test_the_grafana_dashboard_queries_only_what_exists() -> None:
    exported = {
        "roadmap_http_requests_total", "roadmap_feature_psi", "roadmap_canary_share",
        "roadmap_model_version", "roadmap_gpu_present", "roadmap_gpu_utilization_ratio",
        "roadmap_prediction_probability_bucket", prom.P99_RULE, prom.ERROR_RULE, "ALERTS",
    }  # fmt: skip
    dashboard = grafana_dashboard()
    assert dashboard["uid"] == "ai-roadmap-monitor" and len(dashboard["panels"]) == 8
    for panel in dashboard["panels"]:
        assert panel["type"] in ("timeseries", "stat", "bargauge")
        for target in panel["targets"]:
            names = set(re.findall(r"\b(?:roadmap[:_][\w:]+|ALERTS)\b", target["expr"]))
            assert names and names <= exported, (panel["title"], names)


def test_legend_fills_grafana_templates() -> None:
    assert legend("{{feature}} ({{statistic}})", {"feature": "Age", "statistic": "PSI"}) == (
        "Age (PSI)"
    )
    assert legend("{{missing}}", {"a": "b"}) == '{"a": "b"}'
