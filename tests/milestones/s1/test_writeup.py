"""s1.writeup end to end on an isolated MLflow store: before and after a recorded s1.pca run.

The fake run is written with the MLflow client directly (a finished run tagged
``roadmap.id=s1.pca`` with one metric and one PNG), so the test needs no dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.milestones.s1.writeup import run
from ai_roadmap.result import Result

pytestmark = pytest.mark.slow  # MLflow creates its SQLite store: about ten seconds


def _render(out: Path) -> Result:
    cfg = compose("s1.writeup", "smoke")
    cfg.output_dir = str(out)
    return run(cfg)


def _record_fake_pca_run(tmp_path: Path) -> tuple[str, bytes]:
    """A finished s1.pca run with ``max_abs_component_diff`` and ``figures/digits.png``."""
    from matplotlib.image import imsave

    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    png = tmp_path / "digits.png"
    imsave(png, np.arange(64, dtype=float).reshape(8, 8), cmap="gray")
    client, experiment_id = tracking.client(get_settings())
    fake = client.create_run(
        experiment_id,
        tags={"roadmap.id": "s1.pca", "roadmap.kind": "milestone", "roadmap.scale": "smoke"},
    )
    run_id = fake.info.run_id
    client.set_tag(run_id, "roadmap.git_sha", "0123456789abcdef")
    client.set_tag(run_id, "roadmap.verdict", "pass")
    client.log_metric(run_id, "max_abs_component_diff", 4.25e-15)
    client.log_artifact(run_id, str(png), artifact_path="figures")
    client.set_terminated(run_id, status="FINISHED")
    return run_id, png.read_bytes()


def test_pages_before_and_after_a_recorded_run(roadmap_home: Path, tmp_path: Path) -> None:
    first = _render(tmp_path / "before")
    pages = tmp_path / "before" / "writeup"
    assert first.artifacts == {"writeup": pages}
    assert first.metrics == {"pages_rendered": 2.0, "pages_with_figures": 0.0}
    assert first.not_measured is None
    for item_id in ("s1.pca", "s1.logreg"):
        page = (pages / f"{item_id}.html").read_text(encoding="utf-8")
        assert "no recorded run yet" in page and f"roadmap run {item_id}" in page
        assert "<math" in page and '<figure class="source">' in page
        assert (pages / f"{item_id}.md").exists()
    assert 'href="s1.pca.html"' in (pages / "index.html").read_text(encoding="utf-8")

    run_id, png = _record_fake_pca_run(tmp_path)
    second = _render(tmp_path / "after")
    pages = tmp_path / "after" / "writeup"
    assert second.metrics == {"pages_rendered": 2.0, "pages_with_figures": 1.0}
    assert second.params == {"s1.pca.run_id": run_id}
    copied = pages / "s1.pca" / "figures" / "digits.png"
    assert copied.read_bytes() == png  # downloaded from the run beside the page
    pca_page = (pages / "s1.pca.html").read_text(encoding="utf-8")
    assert 'src="s1.pca/figures/digits.png"' in pca_page
    assert "max_abs_component_diff" in pca_page and "4.25e-15" in pca_page
    assert run_id in pca_page and "0123456789abcdef" in pca_page
    assert "no recorded run yet" not in pca_page
    assert "![digits](s1.pca/figures/digits.png)" in (pages / "s1.pca.md").read_text("utf-8")
    logreg_page = (pages / "s1.logreg.html").read_text(encoding="utf-8")
    assert "no recorded run yet" in logreg_page  # only s1.pca was recorded
