"""s4.deploy at smoke through the runner, on the detector and segmenter smoke registers."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_without_registered_models_it_names_the_run_to_do(roadmap_home: Path) -> None:
    from ai_roadmap import runner
    from ai_roadmap.errors import RoadmapError

    with pytest.raises(RoadmapError, match=r"roadmap run s4\.detect") as caught:
        runner.run_milestone("s4.deploy", "smoke", ["models=[s4.detect]"])
    assert "\n" not in str(caught.value)


def test_smoke_exports_quantises_times_and_scores_both_models(
    roadmap_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_roadmap import runner

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # nothing may be left in the working directory

    for item in ("s4.detect", "s4.segment"):
        runner.run_milestone(item, "smoke")
    report = runner.run_milestone("s4.deploy", "smoke")
    m = report.metrics
    assert m["checks_failed"] == 0 and m["checks_passed"] == 6
    assert report.verdict == "not measured"  # TensorRT FP16 needs an NVIDIA GPU
    for name in ("detect", "segment"):
        for b in (1, 8):  # a speed-up is the ratio of the two medians measured side by side
            ratio = m[f"{name}_eager_ms_b{b}"] / m[f"{name}_onnxruntime_ms_b{b}"]
            assert m[f"{name}_ort_speedup_b{b}"] == pytest.approx(ratio)
        assert m[f"{name}_int8_mb"] < m[f"{name}_onnx_mb"]
        assert m[f"{name}_onnx_relative_diff"] < 1e-4
        metric = "map50" if name == "detect" else "miou"
        drop = m[f"{name}_{metric}_onnxruntime"] - m[f"{name}_{metric}_onnxruntime_int8"]
        assert m[f"{name}_int8_{metric}_drop"] == pytest.approx(drop)
    missed = sum(m[f"{n}_ort_speedup_b1"] < 1.3 for n in ("detect", "segment"))
    assert m["ort_bars_missed"] == missed
    assert {"detect.int8", "segment.int8", "checks.csv"} <= set(report.artifacts)
    assert list(cwd.iterdir()) == []


def test_a_missing_model_folder_is_named(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap import runner
    from ai_roadmap.errors import RoadmapError

    missing = tmp_path / "nowhere"
    with pytest.raises(RoadmapError, match=r"model_dirs\.detect: .*nowhere is not a model folder"):
        runner.run_milestone(
            "s4.deploy", "smoke", ["models=[s4.detect]", f"+model_dirs.detect={missing}"]
        )
