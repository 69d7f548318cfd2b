"""The served image model: the eager module against the training code's own normalisation and
softmax, ONNX Runtime against eager at several batch sizes, input validation, the gRPC stubs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ai_roadmap.datasets.images import normalise
from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.deep import stubs
from ai_roadmap.serving.deep.batcher import BatchingOptions
from ai_roadmap.serving.deep.runtime import (
    ImageRuntime,
    load_folder,
    onnx_file,
    save_stand_in,
)
from ai_roadmap.serving.deep.server import BadInput, ModelEntry, ServerSpec, pixels_array

SHAPE = (1, 28, 28)
CLASSES = tuple(f"c{i}" for i in range(10))
NORM = ((0.29,), (0.35,))


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (16, *SHAPE), dtype=np.uint8)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, images: np.ndarray) -> Path:
    train = (torch.from_numpy(images), torch.arange(16) % 10)
    path = tmp_path_factory.mktemp("model") / "m"
    return save_stand_in(path, "MobileNetV2", SHAPE, CLASSES, NORM, seed=0, train=train, steps=3)


def test_the_served_module_is_the_training_normalisation_then_softmax(
    folder: Path, images: np.ndarray
) -> None:
    from ai_roadmap.artifacts.torch import load_torch_model

    network, _ = load_torch_model(folder)
    with torch.no_grad():
        expected = torch.softmax(network(normalise(torch.from_numpy(images), *NORM)), dim=1)
    info, module = load_folder(folder, "m", "3", "test")
    got = ImageRuntime(info, module, "eager", 1).predict(images)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-6)
    assert info.shape == SHAPE and info.classes == CLASSES and info.architecture == "MobileNetV2"
    # the stand-in's answers differ from image to image, as a trained model's do
    assert np.ptp(got.argmax(1)) > 0 or np.abs(np.diff(got, axis=0)).max() > 1e-3


def test_onnx_runtime_matches_eager_at_every_batch_size(
    folder: Path, images: np.ndarray, tmp_path: Path
) -> None:
    from ai_roadmap.artifacts import read_card

    info, module = load_folder(folder, "m", "1", "")
    eager = ImageRuntime(info, module, "eager", 1)
    ort = ImageRuntime(info, module, "onnx", 1)
    path = onnx_file(module, SHAPE, tmp_path, read_card(folder).sha256)
    assert onnx_file(module, SHAPE, tmp_path, read_card(folder).sha256) == path  # cached
    ort.use_onnx(path)
    for n in (1, 3, 16):
        np.testing.assert_allclose(ort.predict(images[:n]), eager.predict(images[:n]), atol=1e-5)


def test_a_broken_onnx_file_is_one_line(folder: Path, tmp_path: Path) -> None:
    info, module = load_folder(folder, "m", "1", "")
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(RoadmapError, match="not a loadable ONNX model"):
        ImageRuntime(info, module, "onnx", 1).use_onnx(bad)
    with pytest.raises(RoadmapError, match="runtime must be one of"):
        ImageRuntime(info, module, "tensorrt", 1)


def test_a_folder_without_an_image_card_is_refused(tmp_path: Path) -> None:
    from ai_roadmap.artifacts import ModelCard
    from ai_roadmap.artifacts.torch import save_torch_model
    from ai_roadmap.vision.resnet import ResNet, ResNetConfig

    card = ModelCard(name="x", task="classification", target="y", input_schema={"age": {}})
    save_torch_model(ResNet(ResNetConfig(1, 10, base_width=8)), tmp_path / "m", card)
    with pytest.raises(RoadmapError, match="does not hold an image classifier"):
        load_folder(tmp_path / "m", "m", "1", "")


def test_pixels_are_taken_flat_or_nested_and_anything_else_is_refused() -> None:
    flat = [i % 256 for i in range(784)]
    np.testing.assert_array_equal(pixels_array(flat, SHAPE).reshape(-1), np.arange(784) % 256)
    nested = (np.arange(784) % 256).reshape(SHAPE).tolist()
    assert pixels_array(nested, SHAPE).shape == SHAPE
    cases = {
        "shape \\[783\\]": flat[:-1],
        "shape \\[28, 28\\]": np.zeros((28, 28)).tolist(),
        "0..255": [256] * 784,
        "finite": [float("nan")] * 784,
        "numbers": ["a"] * 784,
    }
    for message, value in cases.items():
        with pytest.raises(BadInput, match=message):
            pixels_array(value, SHAPE)


def test_the_spec_survives_its_json() -> None:
    spec = ServerSpec(
        [ModelEntry("s3.distill", "/m", "4", "registry")],
        runtime="onnx",
        batching=BatchingOptions(max_batch_size=16, max_queue_delay_ms=2.5),
        grpc_port=None,
    )
    assert ServerSpec.from_json(spec.to_json()) == spec


def test_the_stubs_are_generated_once_per_proto(tmp_path: Path) -> None:
    first = stubs.generate(tmp_path)
    assert stubs.generate(tmp_path) == first
    assert sorted(p.name for p in first.glob("*.py")) == [
        "roadmap_inference_pb2.py",
        "roadmap_inference_pb2_grpc.py",
    ]
    messages, services = stubs.load(tmp_path)
    request = messages.PredictRequest(model="m", pixels=bytes(3), shape=[1, 1, 3])
    assert messages.PredictRequest.FromString(request.SerializeToString()) == request
    assert hasattr(services, "ImageClassifierStub")
