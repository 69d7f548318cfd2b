"""s4.dreambooth at smoke scale through the runner: figures, checks, grids, registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ai_roadmap.runner import run_milestone

pytestmark = pytest.mark.data


class MeanColourScorer:
    """A stand-in for the s4.clip scorer (its interface: ``score(images, texts) -> (B,)``):
    the image embedding is the mean colour, every text embeds as 'blue'."""

    def score(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
        colour = torch.nn.functional.normalize(images.mean(dim=(2, 3)), dim=1)
        return colour @ torch.nn.functional.normalize(torch.tensor([0.2, 0.4, 1.0]), dim=0)


@pytest.mark.slow
def test_smoke_run_through_the_runner(roadmap_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ai_roadmap.milestones.s4 import dreambooth

    monkeypatch.setattr(dreambooth, "load_scorer", lambda _dir: (MeanColourScorer(), ""))
    report = run_milestone("s4.dreambooth", "smoke")
    m = report.metrics
    assert report.proxy and report.verdict == "not measured"
    assert "proxy" in report.reason and "not measured: " not in report.reason
    assert m["checks_failed"] == 0 and m["checks_passed"] == 3
    # the CLIP figures are cosines, and the generated sets each have their figures
    for key in (
        "clip_score",
        "clip_score_real_subject",
        "clip_score_base_class",
        "clip_score_no_prior",
    ):
        assert -1.0 <= m[key] <= 1.0
    for name in ("subject_samples", "subject_samples_no_prior", "base_class", "class_after"):
        assert m[f"nn_dist_{name}"] > 0
    assert 0 <= m["copy_rate_subject_samples"] <= 1
    assert m["fd_class_after_no_prior"] >= 0 and 0 <= m["class_rate_class_after"] <= 1
    names = {Path(a).name for a in report.artifacts}
    assert {
        "grid_subject_training.png",
        "grid_subject_samples.png",
        "grid_base_class.png",
        "grid_class_after_no_prior.png",
        "losses.png",
        "checks.csv",
    } <= names
    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    folder, version = tracking.champion_model_dir(
        get_settings(), "s4.dreambooth", roadmap_home / "m"
    )
    card = json.loads((folder / "model_card.json").read_text())
    extra = json.loads((folder / "dreambooth.json").read_text())
    assert version == "1" and card["task"] == "generation" and card["classes"][-1] == "[V]"
    assert extra["subject_slot"] == len(card["classes"]) - 1 and len(extra["subject_ids"]) == 10


def test_without_a_clip_model_the_reason_names_it() -> None:
    from ai_roadmap.milestones.s4.dreambooth import _not_measured

    assert "proxy" in _not_measured("") and "clip_score" not in _not_measured("")
    reason = _not_measured("no s4.clip model is registered")
    assert reason.endswith("clip_score is not measured: no s4.clip model is registered")
