"""s4.report: ours ÷ published from the recorded runs, and a PDF that opens, page by page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ai_roadmap import runner, tracking
from ai_roadmap.errors import RoadmapError
from ai_roadmap.report.techreport import load_sota
from ai_roadmap.settings import get_settings


def _ner_run(tmp_path: Path, f1: float) -> str:
    """A finished s4.ner run as the runner leaves it: tags, metrics, result.json, one PNG."""
    client, experiment = tracking.client(get_settings())
    tags = {
        "id": "s4.ner",
        "kind": "milestone",
        "verdict": "pass",
        "scale": "quick",
        "dataset": "people-daily-ner",
        "proxy": "false",
        "hardware": "test CPU; no GPU",
    }
    run = client.create_run(experiment, tags={f"roadmap.{k}": v for k, v in tags.items()})
    run_id = str(run.info.run_id)
    client.log_metric(run_id, "f1", f1)
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"notes": ["test F1 measured on 1 704 sentences"]}))
    client.log_artifact(run_id, str(result))
    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "curve.png")
    client.log_artifact(run_id, str(tmp_path / "curve.png"))
    client.set_terminated(run_id, status="FINISHED")
    return run_id


def test_sota_file_names_a_source_or_a_reason_for_every_entry() -> None:
    sota = load_sota()
    for entry in sota["entries"]:
        if entry["published"] is None:
            assert entry["reason"], entry["item"]
        else:
            assert 0 < entry["published"] <= 1 and entry["source"] and entry["comparable"]
    for track in sota["tracks"].values():
        assert track["primary"] in track["items"]


@pytest.mark.slow
def test_report_divides_by_the_published_figure_and_prints_a_pdf(
    roadmap_home: Path, tmp_path: Path
) -> None:
    run_id = _ner_run(tmp_path, 0.9)
    report = runner.run_milestone("s4.report", "smoke")
    published = next(e for e in load_sota()["entries"] if e["item"] == "s4.ner")["published"]
    assert report.metrics["sota_fraction"] == pytest.approx(0.9 / published)
    assert report.verdict == ("pass" if 0.9 / published >= 0.9 else "fail")
    assert report.metrics["pages"] >= 1 and report.metrics["milestones_reported"] == 1
    assert any(run_id[:8] in note for note in report.notes)
    client, _ = tracking.client(get_settings())
    pages = client.download_artifacts(report.mlflow_run_id, "pages", str(tmp_path / "got"))
    first = np.asarray(Image.open(sorted(Path(pages).glob("*.png"))[0]).convert("L"))
    assert first.std() > 5  # a page with text on it, not a blank sheet
    pdf = Path(client.download_artifacts(report.mlflow_run_id, "report.pdf", str(tmp_path)))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    html = Path(client.download_artifacts(report.mlflow_run_id, "report.html", str(tmp_path)))
    page = html.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # prints offline
    assert "王子牛" in page and "0.9000" in page and "Limitations" in page


def test_report_without_the_headline_run_says_what_to_run(roadmap_home: Path) -> None:
    with pytest.raises(RoadmapError, match=r"roadmap run s4.ner"):
        runner.run_milestone("s4.report", "smoke")
