"""`roadmap ner`: entities with spans from a model folder; one-line errors. The registry path
is exercised end to end in ``tests/milestones/s4/test_ner.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.nlp.ner.features import Vocab
from ai_roadmap.nlp.ner.model import BiLSTMCRF, BiLSTMCRFConfig
from ai_roadmap.nlp.ner.tagger import MAX_CHARS, NOT_TRAINED, save

pytestmark = pytest.mark.usefixtures("one_torch_thread")
runner = CliRunner()
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
TEXT = "鲁迅先生曾在北京大学任教，后来去了上海"


def biased_folder(folder: Path) -> Path:
    """An untrained tagger whose emissions favour B-LOC then I-LOC: it must find spans."""
    vocab = Vocab.build([TEXT], TAGS, 1, 1)
    torch.manual_seed(0)
    model = BiLSTMCRF(BiLSTMCRFConfig(len(vocab.chars), len(vocab.bigrams), TAGS, 4, 4, 4))
    with torch.no_grad():
        model.emit.weight.zero_()
        model.emit.bias.copy_(torch.tensor([0.0, 0, 0, 1.0, 2.0, 0, 0]))
        model.crf.transitions.zero_()
    return save(model, vocab, folder, {"f1": 0.0})


def one_line_error(result, text: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and text in errors[0], result.output


def test_json_lists_entities_whose_spans_index_the_text(tmp_path: Path) -> None:
    folder = biased_folder(tmp_path / "model")
    result = runner.invoke(app, ["ner", TEXT, "--json", "--model", str(folder)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found and all(set(e) == {"text", "type", "start", "end"} for e in found)
    assert all(TEXT[e["start"] : e["end"]] == e["text"] and e["type"] == "LOC" for e in found)
    # B-LOC then I-LOC to the end: one entity over the whole text
    assert found == [{"text": TEXT, "type": "LOC", "start": 0, "end": len(TEXT)}]


def test_plain_output_lists_type_span_and_text(tmp_path: Path) -> None:
    folder = biased_folder(tmp_path / "model")
    result = runner.invoke(app, ["ner", TEXT, "--model", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"LOC\t0-{len(TEXT)}\t{TEXT}"
    assert f"model folder {folder}" in result.output


@pytest.mark.slow
def test_no_trained_model_names_the_run_command(roadmap_home: Path) -> None:
    one_line_error(runner.invoke(app, ["ner", TEXT]), NOT_TRAINED)
    assert "roadmap run s4.ner" in NOT_TRAINED


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the text is empty"),
        ("   ", "the text is empty"),
        ("中" * (MAX_CHARS + 1), "over the limit"),
    ],
)
def test_bad_text_is_a_one_line_error(roadmap_home: Path, text: str, message: str) -> None:
    result = runner.invoke(app, ["ner", text])
    one_line_error(result, message)
    assert result.exit_code == 2
