"""s4.clip end to end at smoke scale through the runner: figures, checks, registry, search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_smoke_run_reports_registers_indexes_and_searches(roadmap_home: Path) -> None:
    from ai_roadmap import runner
    from ai_roadmap.cli import app
    from ai_roadmap.errors import RoadmapError
    from ai_roadmap.multimodal.clip.augment import on_white
    from ai_roadmap.multimodal.clip.pairs import load_pairs, load_pixels
    from ai_roadmap.multimodal.clip.scorer import load_clip_scorer

    missing = CliRunner().invoke(app, ["search", "a red apple"])  # before any run
    assert missing.exit_code != 0
    assert "no s4.clip model in the registry: run `roadmap run s4.clip`" in missing.output
    with pytest.raises(RoadmapError, match=r"no s4\.clip model in the registry"):
        load_clip_scorer()

    report = runner.run_milestone("s4.clip", "smoke", [])
    m = report.metrics
    assert report.proxy and report.verdict == "not measured"
    assert m["checks_failed"] == 0 and m["checks_passed"] == 5
    n = m["gallery_images"]
    assert n == m["test_images"] == 24 and m["train_images"] == 96
    for k in (1, 5, 10):
        assert m[f"recall_at_{k}"] == m[f"minilm_en_t2i_r{k}"]
        assert m[f"chance_en_t2i_r{k}"] == pytest.approx(k / n)
        for tower in ("hash", "minilm", "baseline"):
            for lang in ("en", "zh"):
                for d in ("t2i", "i2t"):
                    strict, lenient = (
                        m[f"{tower}_{lang}_{d}_r{k}"],
                        m[f"{tower}_{lang}_{d}_lenient_r{k}"],
                    )
                    assert 0.0 <= strict <= lenient <= 1.0
    assert m["minilm_logit_scale"] <= 100.0 + 1e-4
    assert any(n.startswith("proxy: a dual encoder trained here") for n in report.notes)
    assert any(n.startswith("split by image (seed 0): 96 train / 24 test") for n in report.notes)
    assert {"checks.csv", "histories.json", "losses.png"} <= set(report.artifacts)

    scorer = load_clip_scorer()
    assert scorer.index is not None and len(scorer.index.entries) == 120
    # the index holds what the scorer computes for the same stamp pasted on white
    entry = scorer.index.entries[3]
    folder, pairs = load_pairs()
    pair = next(p for p in pairs if p.id == entry.id)
    side = 40  # the smoke tower's 32 px × load_scale 1.25: resized inside the scorer
    image = on_white(load_pixels(folder, [pair], side), side)
    torch.testing.assert_close(
        scorer.image_embeddings(image)[0], scorer.index.embeddings[3], atol=2e-3, rtol=0
    )

    result = CliRunner().invoke(app, ["search", "a red apple", "--json", "-k", "3"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert all(Path(h["file"]).exists() for h in hits)
    plain = CliRunner().invoke(app, ["search", "a frog"])
    assert plain.exit_code == 0 and "s4.clip version 1" in plain.output
    empty = CliRunner().invoke(app, ["search", "   "])
    assert empty.exit_code != 0 and "the query is empty" in empty.output
