"""Models saved before the package layout changed still load and predict exactly as they did.

``tests/data/legacy/<id>/`` holds one smoke-scale model of every kind the project
registers, saved by the code of commit ae56715 (its ``tests/data/legacy/make_legacy.py``),
with the inputs it was scored on and the outputs that code produced. Each test loads
the model with today's code and requires the same outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy"


@pytest.mark.parametrize("item_id", ["s0.titanic", "s2.house", "s2.churn"])
def test_tabular_pipelines_predict_the_same(item_id: str) -> None:
    """Saved by the old code on another CPU: the same figures up to float rounding (1e-12)."""
    from ai_roadmap.artifacts import load_model

    folder = LEGACY / item_id
    model, card = load_model(folder / "model")
    assert card.name == item_id
    frame = pd.read_parquet(folder / "inputs.parquet")
    got = model.predict_proba(frame) if hasattr(model, "predict_proba") else model.predict(frame)
    np.testing.assert_allclose(got, np.load(folder / "expected.npy"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("item_id", "cls"),
    [
        ("s3.resnet18", "ai_roadmap.vision.resnet.ResNet"),
        ("s3.distill", "ai_roadmap.vision.mobilenetv2.MobileNetV2"),
    ],
)
def test_image_models_under_their_old_class_paths_give_the_same_logits(
    item_id: str, cls: str
) -> None:
    from ai_roadmap.artifacts.torch import load_torch_model, read_architecture

    folder = LEGACY / item_id
    raw = json.loads((folder / "model" / "architecture.json").read_text())
    assert raw["class"].startswith("ai_roadmap.deep.")  # written before the move
    assert read_architecture(folder / "model")[0] == cls
    model, card = load_torch_model(folder / "model")
    assert f"{type(model).__module__}.{type(model).__name__}" == cls
    image = card.input_schema["image"]
    x = torch.from_numpy(np.load(folder / "inputs.npy")).float() / 255.0
    mean = torch.tensor(image["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(image["std"]).view(1, -1, 1, 1)
    with torch.no_grad():
        logits = model((x - mean) / std).double().numpy()
    np.testing.assert_allclose(logits, np.load(folder / "expected.npy"), rtol=0, atol=1e-6)


def test_the_poetry_language_model_gives_the_same_logits() -> None:
    from ai_roadmap.nlp.poetry.store import load

    folder = LEGACY / "s3.poetry"
    assert (folder / "model" / "config.json").exists()  # the format before the move
    model, vocab, card = load(folder / "model")
    assert card.name == "s3.poetry" and len(vocab) > 100
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(np.load(folder / "inputs.npy")))
    np.testing.assert_allclose(
        logits.double().numpy(), np.load(folder / "expected.npy"), rtol=0, atol=1e-6
    )


def test_the_date_seq2seq_decodes_the_same() -> None:
    from ai_roadmap.deep.seq2seq import load_seq2seq

    folder = LEGACY / "s3.rnn"
    (path,) = list((folder / "model").glob("*.pt"))  # one file, the format before the move
    model, src_vocab, _ = load_seq2seq(path)
    inputs = json.loads((folder / "inputs.json").read_text())
    src = src_vocab.encode(inputs["sources"])
    with torch.no_grad():
        ids, _ = model.greedy(src, inputs["max_len"])
        logits = model(src, ids)
    np.testing.assert_array_equal(ids.numpy(), np.load(folder / "expected_ids.npy"))
    np.testing.assert_allclose(
        logits.double().numpy(), np.load(folder / "expected.npy"), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("item_id", ["s3.resnet18", "s3.poetry"])
def test_a_changed_legacy_file_is_refused(item_id: str, tmp_path: Path) -> None:
    import shutil

    from ai_roadmap.errors import IntegrityError

    folder = tmp_path / "model"
    shutil.copytree(LEGACY / item_id / "model", folder)
    weights = folder / "model.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte in the middle of the tensors
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="sha256"):
        if item_id == "s3.poetry":
            from ai_roadmap.nlp.poetry.store import load

            load(folder)
        else:
            from ai_roadmap.artifacts.torch import load_torch_model

            load_torch_model(folder)
