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
    from ai_roadmap.datasets.people_daily import load_sentences
    from tiny_hf_encoder import save_tiny_encoder

    chars = {c for s in load_sentences()[:2000] for c in s.text}
    encoder = save_tiny_encoder(roadmap_home / "tiny-encoder", chars, max_positions=66)
    report = runner.run_milestone("s4.ner", "smoke", [f"encoder.source={encoder}"])
    m = report.metrics
    assert report.verdict in ("pass", "fail") and 0.0 <= m["f1"] <= 1.0
    assert m["checks_failed"] == 0 and m["checks_passed"] == 5  # + LoRA = PEFT on the encoder
    for name in ("pretrained", "random"):
        assert 0.0 <= m[f"{name}_dev_f1"] <= 1.0
        for kind in ("PER", "LOC", "ORG"):
            assert f"{name}_test_{kind}_f1" in m or m[f"{name}_test_f1"] == 0.0
    rows = ("pretrained", "random", "encoder-full", "encoder-lora")
    best = max(rows, key=lambda n: m[f"{n}_dev_f1"])
    assert m["f1"] == m[f"{best}_test_f1"]  # the model is chosen by dev F1, encoders included
    # the encoder rows: LoRA trains adapters + head only; the memory cell of the smoke sweep
    assert m["encoder-lora_trainable_parameters"] < 0.5 * m["encoder-full_trainable_parameters"]
    assert m["encoder-full_trainable_parameters"] == m["encoder-full_parameters"]
    saving = 1 - m["lora_peak_mb_b4_l32"] / m["full_peak_mb_b4_l32"]
    assert m["lora_memory_saving_b4_l32"] == pytest.approx(saving, abs=0.01)
    assert any(note.startswith("LoRA peak training memory") for note in report.notes)
    assert any(note.startswith(f"encoder rows: {encoder}") for note in report.notes)
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
