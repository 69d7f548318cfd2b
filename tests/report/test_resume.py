"""`roadmap resume`: bullets by the seed's formula, every number from a recorded run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap import tracking
from ai_roadmap.catalog import load_catalog
from ai_roadmap.cli import app
from ai_roadmap.report.resume import bullets, load_specs
from ai_roadmap.settings import get_settings

SRC = Path(__file__).resolve().parents[2] / "src" / "ai_roadmap"


def record(item_id: str, metrics: dict[str, float], **tags: str) -> str:
    """A finished milestone run in the test home's MLflow, as the runner would leave it."""
    client, experiment = tracking.client(get_settings())
    base = {"id": item_id, "kind": "milestone", "verdict": "pass", "dataset": "telco"}
    run = client.create_run(
        experiment, tags={f"roadmap.{k}": v for k, v in {**base, **tags}.items()}
    )
    for key, value in metrics.items():
        client.log_metric(run.info.run_id, key, value)
    client.set_terminated(run.info.run_id, status="FINISHED")
    return str(run.info.run_id)


def _texts(lang: str = "en") -> dict[str, str]:
    found = bullets(load_catalog(), tracking.latest_records(get_settings()), lang)
    return {b.item_id: b.text for b in found}


def test_numbers_come_from_the_run_and_follow_it(roadmap_home: Path) -> None:
    run = record("s2.churn", {"lgbm_auc": 0.85, "baseline_auc": 0.8, "auc_lift_pct": 6.25})
    text = _texts()["s2.churn"]
    assert "test AUC 0.85 (vs baseline AUC 0.8: +0.05)" in text
    assert "AUC lift 6.2 %" in text and run in text
    assert "F1 at the chosen threshold" not in text  # not recorded: left out, never filled in
    assert "never an estimate" in text  # business impact is not made up
    later = record("s2.churn", {"lgbm_auc": 0.78, "baseline_auc": 0.8})
    text = _texts()["s2.churn"]
    assert "test AUC 0.78 (vs baseline AUC 0.8: −0.02)" in text and later in text
    zh = _texts("zh")["s2.churn"]
    assert "业务背景" in zh and "测试 AUC 0.78" in zh and "业务落地收益" in zh


def test_only_projects_that_ran_get_a_bullet(roadmap_home: Path) -> None:
    assert _texts() == {}
    record("s1.pca", {"max_abs_component_diff": 1e-12})  # an exercise, not a project
    record("s4.detect", {"map50": 0.1}, scale="smoke")  # a plumbing check, not a result
    record("s4.ner", {"f1": 0.95, "train_sentences": 15997}, proxy="true")
    texts = _texts()
    assert list(texts) == ["s4.ner"]
    assert "training sentences 15,997" in texts["s4.ner"] and "[proxy dataset]" in texts["s4.ner"]


def test_cli(roadmap_home: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["resume"])
    assert empty.exit_code == 1 and "no project has a recorded run" in empty.output
    record("s2.churn", {"lgbm_auc": 0.85})
    out = tmp_path / "cv.md"
    result = runner.invoke(app, ["resume", "--lang", "en", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("- **")
    bad = runner.invoke(app, ["resume", "--lang", "fr"])
    assert bad.exit_code == 2 and "zh or en" in bad.output


@pytest.mark.parametrize("item_id", sorted(load_specs()))
def test_every_named_metric_is_one_the_milestone_records(item_id: str) -> None:
    """A typo in resume.yaml would silently drop a number: each key must occur in the code."""
    spec = load_specs()[item_id]
    assert item_id in {item.id for item in load_catalog().items}
    stage, name = item_id.split(".")
    code = (SRC / "milestones" / stage / f"{name}.py").read_text(encoding="utf-8")
    library = " ".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.py"))
    keys = [spec["metric"]["key"]] + [d["key"] for d in spec.get("data", [])]
    keys += [h["key"] for h in spec.get("highlights", [])]
    keys += [spec["baseline"]["key"]] if spec.get("baseline") else []
    for key in keys:
        if re.search(rf"[\"']{key}[\"']", code) or re.search(rf"[\"']{key}[\"']", library):
            continue
        # keys built from a prefix, e.g. f"batching_gain_{protocol}_{runtime}_c{n}"
        prefix = key.split("_")[0] + "_" + key.split("_")[1] if "_" in key else key
        assert re.search(rf"f[\"']{prefix}", library), f"{item_id}: {key} is never recorded"
