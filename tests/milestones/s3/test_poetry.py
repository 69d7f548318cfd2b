"""s3.poetry end to end at smoke scale: figures, artefacts, the model folder, the registry."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ai_roadmap.result import Result

pytestmark = [pytest.mark.data, pytest.mark.slow]
MODULE = "ai_roadmap.milestones.s3.poetry"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    from ai_roadmap.config import compose
    from ai_roadmap.milestones.s3.poetry import run

    cfg = compose("s3.poetry", "smoke")
    cfg.output_dir = str(tmp_path_factory.mktemp("poetry-smoke"))
    return run(cfg), Path(cfg.output_dir)


def test_smoke_reports_every_figure(smoke: tuple[Result, Path]) -> None:
    result, _ = smoke
    m = result.metrics
    for name in ("bleu3", "bleu3_strict", "baseline_bleu3", "baseline_bleu3_strict"):
        assert 0.0 <= m[name] <= 1.0, name
    for name in ("distinct_2", "copied_line_fraction", "form_correct_rate"):
        assert 0.0 <= m[name] <= 1.0, name
    assert math.isfinite(m["val_perplexity"]) and m["val_perplexity"] > 1
    assert m["baseline_val_perplexity"] > 1 and m["train_seconds"] > 0
    assert m["generated_lines"] > 0
    assert not result.proxy and result.dataset.startswith("tang-poems")
    assert any("protocol (a)" in note for note in result.notes)


def test_smoke_writes_samples_plot_and_a_loadable_model(smoke: tuple[Result, Path]) -> None:
    from ai_roadmap.nlp.poetry.store import load

    result, out = smoke
    assert set(result.artifacts) == {"samples.md", "loss.png"}
    assert all(path.exists() and path.parent == out for path in result.artifacts.values())
    samples = result.artifacts["samples.md"].read_text(encoding="utf-8")
    assert "五言绝句" in samples and "七言律诗" in samples and "藏头诗" in samples
    assert result.model_path is not None
    model, vocab, card = load(result.model_path)
    assert card.name == "s3.poetry" and card.metrics["bleu3"] == result.metrics["bleu3"]
    assert len(vocab) == result.metrics["vocab_size"]
    tokens = torch.tensor([[vocab.bos, vocab.form_id("wujue")]])
    assert model(tokens)[0].shape == (1, 2, len(vocab))


def test_the_runner_registers_the_model_and_roadmap_poem_uses_it(
    roadmap_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ai_roadmap import runner
    from ai_roadmap.catalog import load_catalog
    from ai_roadmap.cli import app

    real = load_catalog()
    items = tuple(
        replace(i, module=i.module or MODULE) if i.id == "s3.poetry" else i for i in real.items
    )
    monkeypatch.setattr(runner, "load_catalog", lambda: replace(real, items=items))
    report = runner.run_milestone("s3.poetry", "smoke")
    assert report.verdict in ("pass", "fail") and "bleu3" in report.metrics
    result = CliRunner().invoke(app, ["poem", "--form", "wujue", "--seed", "0"])
    assert result.exit_code == 0, result.output
    couplets = result.stdout.splitlines()
    assert len(couplets) == 2 and all(len(c) == 12 for c in couplets)
    assert "s3.poetry v1 from the registry" in result.output
