"""s5.stream at smoke through the runner: a real tansu broker, a real consumer process SIGKILLed
between its store write and its commit, a registry canary judged on delayed labels and rolled back
while the member runs; every check passing and the figures recorded. Also the one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.runner import run_milestone

pytestmark = pytest.mark.data

CHECKS = {
    "every_input_scored_once",
    "kill_redelivered_and_ignored",
    "output_topic_complete",
    "challenger_rolled_back",
    "picked_up_without_restart",
    "rollback_within_goal",
    "backlog_bounded_memory",
}


@pytest.mark.slow
def test_smoke_streams_kills_rolls_back_and_every_check_passes(roadmap_home: Path) -> None:
    report = run_milestone("s5.stream", "smoke")
    m = report.metrics
    failed = [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks_failed"] == 0, failed
    assert m["checks"] == len(CHECKS)
    assert {
        n.split(":")[0].split(" ", 1)[1] for n in report.notes if n[:4] in ("pass", "FAIL")
    } == (CHECKS)
    assert report.verdict == "pass" and m["rollback_minutes"] < 5
    assert m["rollback_minutes"] == pytest.approx(m["rollback_seconds"] / 60)
    # exactly-once results from at-least-once delivery
    assert m["sent"] == 400 and m["rows_stored"] == 400
    assert m["missing"] == 0 and m["duplicates_store"] == 0
    assert m["duplicates_broker"] > 0 and m["deliveries"] == 400 + m["duplicates_broker"]
    assert m["published"] == m["deliveries"]  # one output message per delivery
    # the untrained challenger is worse and its keys went back to the champion, live
    assert m["accuracy_challenger"] < m["accuracy_champion"] - 0.1
    assert m["canary_keys_back_on_champion"] > 0 and m["members_switched_without_restart"] >= 1
    assert 0 <= m["rollback_pickup_s"] < 30
    # the producer outran the schedule: lag grows, memory does not follow
    assert m["backlog_peak_messages"] > 64 and m["lag_p99_s"] >= m["lag_p50_s"] > 0
    assert 0 < m["throughput_msgs_per_s"] < m["scoring_msgs_per_s"]
    assert m["member_peak_rss_mb"] > 0 and m["member_rss_growth_mb"] <= 150
    assert "stand-in" in report.notes[0] and "tansu" in report.dataset
    assert report.artifacts == ["predictions"]


def test_without_the_registry_model_the_error_names_the_command(roadmap_home: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "s5.stream", "--scale", "quick", "models.source=registry"]
    )
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "roadmap run s3.distill" in line and "models.source=stand-in" in line
    assert "Traceback" not in result.output


def test_a_bad_setting_is_a_usage_error(roadmap_home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "s5.stream", "--scale", "smoke", "canary.share=1.5"])
    assert result.exit_code == 2
    assert "canary.share must be in (0, 1)" in result.output
    assert "Traceback" not in result.output


def test_a_cluster_that_does_not_answer_is_one_line(roadmap_home: Path) -> None:
    from ai_roadmap.serving.server import free_port

    args = [
        "run", "s5.stream", "--scale", "smoke", f"kafka.bootstrap=127.0.0.1:{free_port()}",
        "kafka.timeout_s=1.5", "+kafka.extra.security.protocol=PLAINTEXT",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "no Kafka cluster answered at '127.0.0.1:" in line and "kafka.bootstrap" in line
    assert "Traceback" not in result.output
