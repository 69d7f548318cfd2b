"""s4.detect at smoke scale through the runner, the registered model, and `roadmap detect`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.runner import run_milestone

pytestmark = pytest.mark.data
cli = CliRunner()


@pytest.mark.slow
def test_smoke_run_registers_a_detector_that_roadmap_detect_uses(
    roadmap_home: Path, tmp_path: Path
) -> None:
    report = run_milestone("s4.detect", "smoke")
    m = report.metrics
    assert not report.proxy and "composite" in report.dataset
    assert 0.0 <= m["map50_95"] <= m["map50"] <= 1.0
    ap50 = [m["ap50_fruit"], m["ap50_mammal"], m["ap50_vehicle"]]
    assert m["map50"] == pytest.approx(float(np.nanmean(ap50)))
    assert m["train_scenes"] == 32 and m["trees_test_boxes"] == 61
    assert any("synthetic composite" in note for note in report.notes)
    assert {"pr_curve", "test_grid", "trees_test"} <= set(report.artifacts)

    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    folder, version = tracking.champion_model_dir(get_settings(), "s4.detect", tmp_path / "dl")
    card = json.loads((folder / "model_card.json").read_text())
    assert version == "1" and card["classes"] == ["fruit", "mammal", "vehicle"]
    assert json.loads((folder / "detect.json").read_text())["image_size"] == 64

    picture = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    cv2.imwrite(str(picture), rng.integers(0, 255, (90, 120, 3), dtype=np.uint8))
    out = tmp_path / "boxes.png"
    result = cli.invoke(app, ["detect", str(picture), "--out", str(out), "--conf", "0.0"])
    assert result.exit_code == 0, result.output
    drawn = cv2.imread(str(out))
    assert drawn is not None and drawn.shape == (90, 120, 3)
    lines = [ln for ln in result.stdout.splitlines() if "\t" in ln]
    assert lines and lines[0].split("\t")[0] in {"fruit", "mammal", "vehicle"}
    for line in lines:
        x1, y1, x2, y2 = (float(v) for v in line.split("\t")[2:])
        assert 0 <= x1 <= x2 <= 120 and 0 <= y1 <= y2 <= 90


def test_detect_errors_are_one_line(roadmap_home: Path, tmp_path: Path) -> None:
    missing = cli.invoke(app, ["detect", str(tmp_path / "none.png")])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    assert "Traceback" not in missing.output
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    unreadable = cli.invoke(app, ["detect", str(bad)])
    assert unreadable.exit_code != 0 and "not an image" in unreadable.output
    good = tmp_path / "ok.png"
    cv2.imwrite(str(good), np.zeros((32, 32, 3), np.uint8))
    untrained = cli.invoke(app, ["detect", str(good)])
    assert untrained.exit_code != 0 and "roadmap run s4.detect" in untrained.output
    assert len(untrained.output.strip().splitlines()) == 1
    assert not (tmp_path / "ok_boxes.png").exists()
