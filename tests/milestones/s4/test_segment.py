"""s4.segment at smoke scale through the runner: figures, checks, artefacts, registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.errors import UsageError
from ai_roadmap.runner import run_milestone

pytestmark = pytest.mark.data


@pytest.mark.slow
def test_smoke_run_through_the_runner(roadmap_home: Path) -> None:
    report = run_milestone("s4.segment", "smoke")
    m = report.metrics
    classes = ["background", "fruit", "mammal", "vehicle"]
    assert not report.proxy and report.dataset.startswith("composite scenes stamps3-")
    assert m["checks_failed"] == 0 and m["checks_passed"] == 3
    # miou is the mean of the per-class IoUs present; Dice = 2 IoU / (1 + IoU) per class
    ious = np.array([m[f"iou_{c}"] for c in classes])
    assert m["miou"] == pytest.approx(np.nanmean(ious))
    for c in classes:
        if not np.isnan(m[f"iou_{c}"]):
            assert m[f"dice_{c}"] == pytest.approx(2 * m[f"iou_{c}"] / (1 + m[f"iou_{c}"]))
    # the chosen architecture is the better one on validation, and only it is trained light
    chosen = max(("unet", "deeplab"), key=lambda a: m[f"{a}_val_miou"])
    other = {"unet": "deeplab", "deeplab": "unet"}[chosen]
    assert f"{chosen}_light_miou" in m and f"{other}_light_miou" not in m
    # the registered model is the run with the best validation mIoU, strong or light
    best = max((f"{chosen}", f"{chosen}_light"), key=lambda t: m[f"{t}_val_miou"])
    assert m["miou"] == m[f"{best}_miou"]
    assert m["chosen_strong"] == float(best == chosen)
    assert m["aug_delta_miou"] == pytest.approx(m[f"{chosen}_miou"] - m[f"{chosen}_light_miou"])
    names = {Path(a).name for a in report.artifacts}
    assert {"overlays_test.png", "overlays_test_light.png", "val_curves.png"} <= names
    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    folder, version = tracking.champion_model_dir(get_settings(), "s4.segment", roadmap_home / "m")
    card = json.loads((folder / "model_card.json").read_text())
    extra = json.loads((folder / "segment.json").read_text())
    assert version == "1" and card["classes"] == classes and card["task"] == "segmentation"
    assert extra["architecture"] == chosen and extra["size"] == 96
    assert extra["augment"] == ("strong" if best == chosen else "light")
    assert card["metrics"]["miou"] == m["miou"]


def test_unknown_architecture_is_one_line(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.milestones.s4.segment import run

    cfg = compose("s4.segment", "smoke", ["models=[unet,segformer]"])
    cfg.output_dir = str(tmp_path / "out")
    with pytest.raises(UsageError, match="models must list"):
        run(cfg)
    assert not (tmp_path / "out" / "model").exists()
