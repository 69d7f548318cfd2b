"""s3.resnet18 at smoke scale on the Fashion-MNIST proxy, and the dataset choice.

One smoke run (512 training images, width-8 ResNet-18, one epoch) checked for the
proxy labelling the roadmap requires, the saved model folder (reloaded, it must
score exactly what the run reported) and the runner's verdict.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_roadmap.artifacts import CARD_FILE
from ai_roadmap.artifacts.torch import load_torch_state
from ai_roadmap.catalog import Target
from ai_roadmap.config import compose
from ai_roadmap.datasets.images import PROXY_NAME, cifar10_present, load_image_data
from ai_roadmap.errors import DataMissingError, UsageError
from ai_roadmap.result import Result
from ai_roadmap.runner import NOT_MEASURED, judge
from ai_roadmap.settings import get_settings
from ai_roadmap.training.evaluate import evaluate
from ai_roadmap.vision.resnet import ResNet, ResNetConfig, count_parameters

pytestmark = pytest.mark.data

CIFAR_TARGET = Target(metric="test_accuracy", op=">=", threshold=0.94, dataset="cifar10")


def assert_proxy_is_named(result: Result) -> None:
    assert result.proxy is True
    assert result.dataset.startswith(PROXY_NAME)
    assert "512 train / 500 test" in result.dataset
    assert result.not_measured is not None and "CIFAR-10" in result.not_measured
    assert judge(CIFAR_TARGET, result, "smoke").verdict == NOT_MEASURED


def assert_metrics_sane(result: Result) -> None:
    m = result.metrics
    assert set(m) >= {
        "test_accuracy",
        "test_accuracy_tta",
        "epochs",
        "train_seconds",
        "train_images_per_second",
        "params",
    }
    assert 0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["test_accuracy_tta"] <= 1.0
    assert m["epochs"] == 1 and m["train_seconds"] > 0
    # 4 steps of 128 images
    assert m["train_images_per_second"] == pytest.approx(512 / m["train_seconds"])
    assert m["params"] == count_parameters(ResNet(ResNetConfig(1, 10, base_width=8)))


def assert_model_folder_reloads(result: Result) -> None:
    folder = result.model_path
    assert folder is not None and (folder / CARD_FILE).exists()
    state, architecture, card = load_torch_state(folder)
    assert card.input_schema["image"]["shape"] == [1, 28, 28]
    assert card.classes[0] == "T-shirt/top"
    assert architecture["class"] == "ai_roadmap.vision.resnet.ResNet"
    model = ResNet(ResNetConfig(**{**architecture["config"], "blocks_per_stage": (2, 2, 2, 2)}))
    model.load_state_dict(state)
    data = load_image_data("fashion-mnist", 512, 500, seed=0)
    scores = evaluate(model, data.test_images, data.test_labels, normalise=data.normalise)
    assert scores["accuracy"] == pytest.approx(result.metrics["test_accuracy"], abs=1e-9)
    assert scores["accuracy_tta"] == pytest.approx(result.metrics["test_accuracy_tta"], abs=1e-9)


def test_smoke_run_on_the_proxy(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.milestones.s3.resnet18 import run

    cfg = compose("s3.resnet18", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = run(cfg)
    assert_proxy_is_named(result)
    assert_metrics_sane(result)
    assert_model_folder_reloads(result)
    assert set(result.artifacts) == {"training_curve.png", "history.json"}
    assert all(Path(p).exists() for p in result.artifacts.values())
    history = json.loads(Path(result.artifacts["history.json"]).read_text())
    assert len(history) == 1 and history[0]["loss"] > 0


def test_auto_takes_cifar10_when_its_files_are_there(
    roadmap_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not cifar10_present()  # the fixture unsets ROADMAP_DATA_DIR
    (tmp_path / "user" / "cifar10" / "cifar-10-batches-py").mkdir(parents=True)
    monkeypatch.setenv("ROADMAP_DATA_DIR", str(tmp_path / "user"))
    get_settings.cache_clear()
    assert cifar10_present()
    with pytest.raises(DataMissingError):  # chosen, then found incomplete: no silent fallback
        load_image_data("auto")
    with pytest.raises(UsageError):
        load_image_data("imagenet")


def test_scales_compose_and_smoke_is_pinned_to_the_proxy(roadmap_home: Path) -> None:
    smoke, quick, full = (compose("s3.resnet18", s) for s in ("smoke", "quick", "full"))
    assert smoke.data.source == "fashion-mnist"
    assert quick.data.source == full.data.source == "auto"
    assert full.model.base_width == quick.model.base_width == 64
    assert full.data.n_train is None and full.train.epochs >= quick.train.epochs
