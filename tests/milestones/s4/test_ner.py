"""s4.ner end to end at smoke scale through the runner: figures, checks, registry, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytestmark = [pytest.mark.data, pytest.mark.slow]
MODULE = "ai_roadmap.milestones.s4.ner"


def test_smoke_run_reports_checks_registers_and_tags(
    roadmap_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_roadmap import runner
    from ai_roadmap.catalog import load_catalog
    from ai_roadmap.cli import app

    real = load_catalog()
    items = tuple(
        replace(i, module=i.module or MODULE) if i.id == "s4.ner" else i for i in real.items
    )
    monkeypatch.setattr(runner, "load_catalog", lambda: replace(real, items=items))
    report = runner.run_milestone("s4.ner", "smoke")
    m = report.metrics
    assert report.verdict in ("pass", "fail") and 0.0 <= m["f1"] <= 1.0
    assert m["checks_failed"] == 0 and m["checks_passed"] == 4
    for name in ("pretrained", "random"):
        assert 0.0 <= m[f"{name}_dev_f1"] <= 1.0
        for kind in ("PER", "LOC", "ORG"):
            assert f"{name}_test_{kind}_f1" in m or m[f"{name}_test_f1"] == 0.0
    best = max(("pretrained", "random"), key=lambda n: m[f"{n}_dev_f1"])
    assert m["f1"] == m[f"{best}_test_f1"]  # the model is chosen by dev F1
    assert m["test_sentences"] == 100 and not report.proxy
    assert {"models.json", "checks.csv", "dev_f1.png"} <= set(report.artifacts)
    assert any(note.startswith("pass no_dev_test_article_in_training") for note in report.notes)
    text = "鲁迅先生曾在北京大学任教"
    result = CliRunner().invoke(app, ["ner", text, "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert all(text[e["start"] : e["end"]] == e["text"] for e in found)
    plain = CliRunner().invoke(app, ["ner", text])
    assert plain.exit_code == 0 and "s4.ner version 1" in plain.output
    assert len([line for line in plain.stdout.splitlines() if "\t" in line]) == len(found)
