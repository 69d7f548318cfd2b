"""s5.serving at smoke: stand-in models behind real servers (ours over REST and gRPC, eager and
ONNX Runtime, unbatched and batched; LitServe), every check passing, the figures recorded; and
the one-line errors for a registry without the models and for a bad setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.runner import run_milestone
from ai_roadmap.serving.deep.checks import Check, equal, max_diff
from ai_roadmap.serving.deep.client import Answer

pytestmark = pytest.mark.data

CHECKS = {
    "own_answer_under_concurrency",
    "hostile_rest",
    "hostile_grpc",
    "health_and_reflection",
    "batched_equals_unbatched",
    "grpc_equals_rest",
    "onnx_server_equals_eager",
    "litserve_equals_reference",
    "queue_full_rest",
    "queue_full_grpc",
    "cancelled_client",
    "request_timeout",
}


@pytest.mark.slow
def test_smoke_serves_both_protocols_and_runtimes_and_every_check_passes(
    roadmap_home: Path,
) -> None:
    report = run_milestone("s5.serving", "smoke")
    m = report.metrics
    failed = [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks_failed"] == 0, failed
    assert m["checks"] == len(CHECKS)
    assert report.verdict == "pass" and not report.proxy and "stand-in" in report.dataset
    # every cell of the grid ran, answered without errors, and batching formed batches
    for runtime in ("eager", "onnx"):
        for protocol in ("rest", "grpc"):
            for mode in ("batched", "unbatched"):
                key = f"{protocol}_{runtime}_{mode}_c16"
                assert m[f"rps_{key}"] > 0 and m[f"errors_{key}"] == 0, key
                assert 0 < m[f"p50_ms_{key}"] <= m[f"p99_ms_{key}"], key
            assert m[f"mean_batch_{protocol}_{runtime}_batched_c16"] > 1
            gain = (
                m[f"rps_{protocol}_{runtime}_batched_c16"]
                / m[f"rps_{protocol}_{runtime}_unbatched_c16"]
            )
            assert m[f"batching_gain_{protocol}_{runtime}_c16"] == pytest.approx(gain)
    assert m["rps_litserve_c16"] > 0 and m["errors_litserve_c16"] == 0
    for stem in ("distill", "resnet18"):
        assert m[f"onnx_max_abs_diff_{stem}"] <= 1e-4
        ratio = m[f"eager_ms_batch1_{stem}"] / m[f"onnx_ms_batch1_{stem}"]
        assert m[f"onnx_gain_batch1_{stem}"] == pytest.approx(ratio)
    assert {"serving.json", "serving.md", "serving.png"} <= set(report.artifacts)
    assert any("stand-in MobileNetV2 (small) for s3.distill" in n for n in report.notes)
    assert any(n.startswith("bar, rest eager at 16 clients") for n in report.notes)


def test_without_the_registry_models_the_error_names_the_command(roadmap_home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "s5.serving", "--scale", "quick"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert "roadmap run s3.distill" in line and "models.source=stand-in" in line
    assert "Traceback" not in result.output


def test_a_bad_setting_is_a_usage_error(roadmap_home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "s5.serving", "--scale", "smoke", "models.source=hub"])
    assert result.exit_code == 2
    assert "models.source must be registry or stand-in" in result.output
    assert "Traceback" not in result.output


def test_the_equality_check_fails_on_a_wrong_or_missing_answer() -> None:
    ref = np.array([[0.9, 0.1], [0.2, 0.8]])
    good = [Answer("200", [0.9, 0.1]), Answer("OK", [0.2, 0.8])]
    assert equal("x", good, ref, 1e-6, "w").passed
    swapped = good[::-1]
    assert not equal("x", swapped, ref, 1e-6, "w").passed
    failed = [good[0], Answer("503", [], "queue full")]
    assert max_diff(failed, ref) == float("inf")
    check = equal("x", failed, ref, 1e-6, "w")
    assert isinstance(check, Check) and not check.passed and "503" in check.detail
