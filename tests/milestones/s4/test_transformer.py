"""s4.transformer end to end at smoke: checks, the comparison, the registry and `roadmap poem`."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F
from typer.testing import CliRunner

pytestmark = [pytest.mark.data, pytest.mark.slow]
ITEM = "s4.transformer"
CHECKS = ("sdpa", "mha", "causal_future", "padding", "rope_relative", "sinusoidal", "kv_cache")


def one_line_error(result, text: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0] and "Traceback" not in result.output


def independent_test_perplexity(model: torch.nn.Module, vocab: object) -> float:
    """exp(mean −log p) over the smoke test split, one poem at a time (no batching code)."""
    from ai_roadmap.config import compose, typed
    from ai_roadmap.nlp.poetry.corpus import Cleaning, load_corpus, split_poems

    cfg = compose(ITEM, "smoke")
    poems = load_corpus(typed(cfg.corpus, Cleaning)).poems
    test = split_poems(poems, cfg.split.val_fraction, cfg.split.test_fraction, cfg.seed).test
    total, count = 0.0, 0
    with torch.no_grad():
        for poem in test:
            ids = torch.tensor([vocab.encode(poem)])  # type: ignore[attr-defined]
            logits = model(ids[:, :-1])
            total += float(F.cross_entropy(logits[0], ids[0, 1:], reduction="sum"))
            count += ids.shape[1] - 1
    return math.exp(total / count)


def test_smoke_through_the_runner_then_roadmap_poem(roadmap_home: Path) -> None:
    from ai_roadmap import runner
    from ai_roadmap.cli import app
    from ai_roadmap.config import compose
    from ai_roadmap.nlp.poetry.model import LSTMConfig, PoetryLSTM
    from ai_roadmap.nlp.poetry.store import load_registered
    from ai_roadmap.settings import get_settings

    cli = CliRunner()
    one_line_error(
        cli.invoke(app, ["poem", "--model", "transformer"]), "roadmap run s4.transformer"
    )

    report = runner.run_milestone(ITEM, "smoke")
    m = report.metrics
    assert report.verdict == "pass" and m["checks_failed"] == 0
    assert m["checks_passed"] == len(CHECKS) and all(m[f"err_{c}"] < 1e-6 for c in CHECKS)
    for side in ("transformer", "lstm"):
        for name in ("bleu3", "bleu3_strict", "form_correct_rate", "copied_line_fraction"):
            assert 0.0 <= m[f"{side}_{name}"] <= 1.0, (side, name)
        assert m[f"{side}_val_perplexity"] > 1 and m[f"{side}_train_seconds"] > 0
    assert any("LSTM trained in this run" in n and "no s3.poetry model" in n for n in report.notes)

    # figures against independent computations
    model, vocab, card, version = load_registered(get_settings(), milestone=ITEM)
    assert version == "1" and card.name == ITEM and len(vocab) == m["vocab_size"]
    assert m["transformer_parameters"] == sum(p.numel() for p in model.parameters())
    recipe = compose("s3.poetry", "smoke")
    sizes = {k: v for k, v in dict(recipe.model).items() if k != "kind"}
    lstm = PoetryLSTM(LSTMConfig(vocab_size=len(vocab), **sizes))
    assert m["lstm_parameters"] == sum(p.numel() for p in lstm.parameters())
    expected = independent_test_perplexity(model, vocab)
    assert m["transformer_test_perplexity"] == pytest.approx(expected, rel=1e-4)

    poem = cli.invoke(app, ["poem", "--model", "transformer", "--form", "wujue", "--seed", "0"])
    assert poem.exit_code == 0, poem.output
    couplets = poem.stdout.splitlines()
    assert len(couplets) == 2 and all(len(c) == 12 for c in couplets)
    assert "s4.transformer v1 from the registry" in poem.output
    # the default stays the s3.poetry LSTM, which this home has not trained
    one_line_error(cli.invoke(app, ["poem"]), "roadmap run s3.poetry")


def register_lstm(folder: Path, params: dict[str, str], scale: str) -> None:
    """A tiny s3.poetry model registered with the run parameters the runner would log."""
    from ai_roadmap import tracking
    from ai_roadmap.nlp.poetry.corpus import Poem
    from ai_roadmap.nlp.poetry.model import LSTMConfig, PoetryLSTM
    from ai_roadmap.nlp.poetry.store import save
    from ai_roadmap.nlp.poetry.vocab import Vocab
    from ai_roadmap.settings import get_settings

    vocab = Vocab.from_poems([Poem(("白日依山尽，", "黄河入海流。"))])
    model = PoetryLSTM(LSTMConfig(len(vocab), embed_dim=8, hidden_size=8, num_layers=1))
    save(model, vocab, folder, {"train_seconds": 12.5})
    with tracking.milestone_run(get_settings(), "s3.poetry", scale) as (client, run_id):
        for key, value in params.items():
            client.log_param(run_id, key, value)
        client.log_artifacts(run_id, str(folder), artifact_path="model")
        tracking.register_model(client, "s3.poetry", run_id, "fail", scale)


def test_the_registry_lstm_is_used_only_when_it_held_out_the_same_poems(
    roadmap_home: Path, tmp_path: Path
) -> None:
    from ai_roadmap.config import compose, typed
    from ai_roadmap.errors import RoadmapError
    from ai_roadmap.milestones.s4.transformer import (
        SPLIT_KEYS,
        Config,
        LSTMSide,
        Side,
        _flat_split_params,
        get_lstm,
        lstm_from_registry,
    )

    c = typed(compose(ITEM, "smoke"), Config)
    assert "no s3.poetry model" in str(lstm_from_registry(c, "cpu"))
    params = _flat_split_params(c)
    assert set(SPLIT_KEYS) <= set(params)
    register_lstm(tmp_path / "a", {**params, "seed": "7"}, "smoke")
    refused = lstm_from_registry(c, "cpu")
    assert isinstance(refused, str) and "(seed)" in refused
    with pytest.raises(RoadmapError, match=r"lstm\.source=registry"):
        get_lstm(dataclasses.replace(c, lstm=LSTMSide(source="registry")), "smoke", None, "cpu")  # type: ignore[arg-type]
    register_lstm(tmp_path / "b", params, "quick")  # quick outranks smoke: v2 is @champion
    found = lstm_from_registry(c, "cpu")
    assert isinstance(found, Side), found
    assert found.origin == "registry model s3.poetry v2 (quick)" and found.train_seconds == 12.5
