"""The serving image, really built from the Dockerfile and run (mmdebstrap + buildah).

The base image is made once per machine and reused (cached by what went into it);
the image is then built from the project's Dockerfile with the test models, started,
and asked for /readyz, a prediction and /docs. ``make system-deps`` installs the tools.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving import image

ROOT = Path(__file__).resolve().parents[2]


def test_missing_tools_are_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image.shutil, "which", lambda name: None)
    with pytest.raises(
        RoadmapError, match=r"mmdebstrap and buildah not found: run `make system-deps`"
    ):
        image.require_tools()


def test_the_base_key_follows_what_goes_into_the_base(monkeypatch: pytest.MonkeyPatch) -> None:
    key = image.base_key()
    assert key == image.base_key() and len(key) == 12
    monkeypatch.setattr(image, "PACKAGES", (*image.PACKAGES, "curl"))
    assert image.base_key() != key


def test_buildah_sizes_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    assert image._megabytes("186 MB") == 186.0 and image._megabytes("1.2 GB") == 1200.0
    with pytest.raises(RoadmapError, match="does not parse"):
        image._megabytes("big")


@pytest.mark.slow
def test_the_image_builds_runs_and_answers(
    model_dir: Path, tmp_path: Path, records: Any, free_port: int
) -> None:
    from ai_roadmap.serving.venv import serve_requirements

    image.require_tools()
    store = Path.home() / ".cache" / "ai-roadmap-test-containers"  # the base is reused
    models = tmp_path / "models"
    shutil.copytree(model_dir / "titanic", models / "titanic")
    record = records("titanic", 1)[0]
    report = image.measure_image(
        store, ROOT, models, ["titanic"], record, serve_requirements()[0], free_port
    )
    assert 50 < report.base_mb < report.image_mb < 300
    assert report.docs_ok and 0 <= report.prediction["probability"] <= 1
    assert report.prediction["model"] == "titanic"
    listed = subprocess.run(
        [*image.buildah(store), "containers", "--json"], capture_output=True, text=True
    )
    left = json.loads(listed.stdout or "null") or []  # the working container is removed
    assert not [c for c in left if c.get("imagename") == report.image]
