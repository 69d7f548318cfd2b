"""Save one smoke-scale model of every kind the project registers, with the code of this commit.

Run once, before the package layout changes: ``python tests/data/legacy/make_legacy.py``.
Each folder holds the model exactly as the milestone saved it, the inputs it is
scored on and the outputs this commit's code produced; ``tests/artifacts_legacy``
loads them with the current code and requires the same outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROWS = 40


def _model_folder(home: Path, run_id: str) -> Path:
    (found,) = list((home / "mlartifacts").glob(f"**/{run_id}/artifacts/model"))
    return found


def _run(item_id: str, home: Path, overrides: list[str] | None = None) -> Path:
    from ai_roadmap.runner import run_milestone
    from ai_roadmap.settings import get_settings

    get_settings.cache_clear()
    report = run_milestone(item_id, "smoke", overrides or [])
    return _model_folder(home, report.mlflow_run_id)


def _copy(src: Path, name: str) -> Path:
    dest = HERE / name / "model"
    if dest.parent.exists():
        shutil.rmtree(dest.parent)
    shutil.copytree(src, dest)
    return dest.parent


def tabular(home: Path) -> None:
    from ai_roadmap.datasets.churn import load_telco
    from ai_roadmap.datasets.house import load_house_prices
    from ai_roadmap.datasets.titanic import load_titanic
    from ai_roadmap.models import load_model

    frames = {
        "s0.titanic": load_titanic().test.head(ROWS),
        "s2.house": load_house_prices().test.head(ROWS),
        "s2.churn": load_telco()[0].drop(columns="churn").head(ROWS),
    }
    for item_id, frame in frames.items():
        folder = _copy(_run(item_id, home), item_id)
        model, _ = load_model(folder / "model")
        if hasattr(model, "predict_proba"):
            expected = model.predict_proba(frame)
        else:
            expected = model.predict(frame)
        frame.to_parquet(folder / "inputs.parquet")
        np.save(folder / "expected.npy", np.asarray(expected, dtype=np.float64))


def images(home: Path) -> None:
    import torch

    from ai_roadmap.deep.mobilenetv2 import MobileNetV2, MobileNetV2Config
    from ai_roadmap.deep.resnet import ResNet, ResNetConfig
    from ai_roadmap.deep.train import load_torch_state

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (8, 1, 28, 28), dtype=np.uint8)
    for item_id in ("s3.resnet18", "s3.distill"):
        folder = _copy(_run(item_id, home), item_id)
        state, arch, card = load_torch_state(folder / "model")
        cls = arch.pop("class")
        if cls.endswith("ResNet"):
            model = ResNet(ResNetConfig(**arch))
        else:
            model = MobileNetV2(MobileNetV2Config(**arch))
        model.load_state_dict(state)
        model.eval()
        image = card.input_schema["image"]
        x = torch.from_numpy(pixels).float() / 255.0
        mean = torch.tensor(image["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(image["std"]).view(1, -1, 1, 1)
        with torch.no_grad():
            logits = model((x - mean) / std)
        np.save(folder / "inputs.npy", pixels)
        np.save(folder / "expected.npy", logits.double().numpy())


def poetry(home: Path) -> None:
    import torch

    from ai_roadmap.deep.poetry.store import load

    folder = _copy(_run("s3.poetry", home), "s3.poetry")
    model, vocab, _ = load(folder / "model")
    rng = np.random.default_rng(0)
    tokens = rng.integers(4, len(vocab), (3, 12))
    with torch.no_grad():
        logits, _ = model(torch.from_numpy(tokens))
    np.save(folder / "inputs.npy", tokens)
    np.save(folder / "expected.npy", logits.double().numpy())


def seq2seq(home: Path) -> None:
    import torch

    from ai_roadmap.deep import seq2seq as s2s

    runs = home / "mlartifacts"
    from ai_roadmap.runner import run_milestone
    from ai_roadmap.settings import get_settings

    get_settings.cache_clear()
    report = run_milestone("s3.rnn", "smoke", [])
    (path,) = list(runs.glob(f"**/{report.mlflow_run_id}/artifacts/model/*.pt"))
    folder = HERE / "s3.rnn"
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "model").mkdir(parents=True)
    shutil.copy(path, folder / "model" / path.name)
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = s2s.Seq2Seq(s2s.Seq2SeqConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    model.eval()
    src_vocab = s2s.Vocab("")
    src_vocab.itos = tuple(saved["src_vocab"])
    src_vocab.stoi = {c: i for i, c in enumerate(src_vocab.itos)}
    sources = ["March 3, 1987", "12/31/1999", "1 jan 2001", "Tuesday, July 4, 1976"]
    src = src_vocab.encode(sources)
    with torch.no_grad():
        ids, _ = model.greedy(src, 10)
        logits = model(src, ids)
    (folder / "inputs.json").write_text(json.dumps({"sources": sources, "max_len": 10}))
    np.save(folder / "expected_ids.npy", ids.numpy())
    np.save(folder / "expected.npy", logits.double().numpy())


def main() -> int:
    data_home = Path(os.environ.get("ROADMAP_DATA_HOME", "~/.ai-roadmap/data")).expanduser()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["ROADMAP_HOME"] = str(home)
        os.environ["ROADMAP_DATA_HOME"] = str(data_home)
        tabular(home)
        images(home)
        poetry(home)
        seq2seq(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
