"""An image classifier ready to serve: eager PyTorch or ONNX Runtime, same inputs, same outputs.

A served model takes what its card says (``uint8`` pixels, shape ``(C, H, W)``) and
returns class probabilities. :class:`Probabilities` puts the card's normalisation
and the softmax around the trained network, so the eager model and its ONNX graph
(exported from that same module, dynamic batch) compute one function; the ONNX
file is cached beside the model folder's sha256, so a restart does not export
again. Both runtimes are pinned to ``threads`` intra-op threads: on a 2-core
machine the server shares the cores with its clients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError

RUNTIMES = ("eager", "onnx")


@dataclass(frozen=True)
class ModelInfo:
    """What a client needs to know about a served image model."""

    name: str
    version: str
    shape: tuple[int, int, int]  # (C, H, W)
    classes: tuple[str, ...]
    architecture: str  # class name, e.g. MobileNetV2
    origin: str  # where the weights came from, one line

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "shape": list(self.shape),
            "dtype": "uint8",
            "classes": list(self.classes),
            "architecture": self.architecture,
            "origin": self.origin,
        }


def probabilities_module(network: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """``network`` with the card's normalisation before it and a softmax after it."""
    import torch
    from torch import nn

    class Probabilities(nn.Module):
        """float pixels 0–255 (N, C, H, W) → probabilities (N, classes)."""

        def __init__(self) -> None:
            super().__init__()
            self.network = network.eval()
            shape = (1, -1, 1, 1)
            scale = torch.tensor([1.0 / (255.0 * s) for s in std]).view(shape)
            shift = torch.tensor([-m / s for m, s in zip(mean, std, strict=True)]).view(shape)
            self.register_buffer("scale", scale)
            self.register_buffer("shift", shift)

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.network(pixels * self.scale + self.shift), dim=1)

    return Probabilities().eval()


class ImageRuntime:
    """``predict(uint8 (N, C, H, W)) → float32 (N, classes)`` through eager torch or ORT."""

    def __init__(
        self, info: ModelInfo, module: Any, runtime: str, threads: int, device: str = "cpu"
    ) -> None:
        if runtime not in RUNTIMES:
            raise RoadmapError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        if device not in ("cpu", "cuda"):
            raise RoadmapError(f"device must be cpu or cuda, got {device!r}")
        self.info, self.runtime, self.threads, self.device = info, runtime, threads, device
        self.module = module.to(device) if runtime == "eager" else module
        self.session: Any = None
        self.provider = "torch " + device

    def use_onnx(self, path: Path, spinning: bool = True) -> None:
        """Run through the ONNX graph at ``path``; ``spinning=False`` for a server (see
        :func:`ai_roadmap.serving.deep.server.passive_threads`)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        if not spinning:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if self.device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # a truncated or foreign file
            raise RoadmapError(f"{path} is not a loadable ONNX model ({exc}); delete it") from None
        self._input = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]  # what ORT actually runs on

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(pixels, dtype=np.float32)
        if self.runtime == "onnx":
            return np.asarray(self.session.run(None, {self._input: x})[0], dtype=np.float32)
        import torch

        with torch.inference_mode():
            return self.module(torch.from_numpy(x).to(self.device)).cpu().numpy()


def save_stand_in(
    folder: Path,
    architecture: str,
    shape: tuple[int, int, int],
    classes: tuple[str, ...],
    norm: tuple[tuple[float, ...], tuple[float, ...]],
    seed: int,
    train: tuple[Any, Any] | None = None,
    steps: int = 30,
    full_size: bool = False,
) -> Path:
    """A model folder holding a small stand-in of the served architecture.

    For runs that measure the serving path, not accuracy (``s5.serving`` at smoke):
    a ×0.25 MobileNetV2 or a width-16 ResNet-18 (``full_size``: ×1.0 and width 64, the
    sizes ``s3.distill`` and ``s3.resnet18`` train) from ``seed``, given ``steps`` Adam
    steps on ``train`` (uint8 images, labels) when given, so that its answers differ
    from image to image as a trained model's do.
    """
    import torch

    from ai_roadmap.artifacts import ModelCard
    from ai_roadmap.artifacts.torch import save_torch_model
    from ai_roadmap.vision.mobilenetv2 import MobileNetV2, MobileNetV2Config
    from ai_roadmap.vision.resnet import ResNet, ResNetConfig

    torch.manual_seed(seed)
    network: Any
    if architecture == "MobileNetV2":
        width = 1.0 if full_size else 0.25
        network = MobileNetV2(MobileNetV2Config(shape[0], len(classes), width_mult=width))
    elif architecture == "ResNet":
        base = 64 if full_size else 16
        network = ResNet(ResNetConfig(shape[0], len(classes), base_width=base))
    else:
        raise RoadmapError(f"no stand-in for architecture {architecture!r}")
    if train is not None:
        _briefly_train(network, train, norm, steps, seed)
    image = {"type": "image", "dtype": "uint8", "shape": list(shape)}
    card = ModelCard(
        name=f"stand-in {architecture}",
        task="classification",
        target="label",
        input_schema={"image": image | {"mean": list(norm[0]), "std": list(norm[1])}},
        metrics={},
        classes=list(classes),
    )
    return save_torch_model(network.eval(), folder, card)


def _briefly_train(
    network: Any, train: tuple[Any, Any], norm: tuple[Any, Any], steps: int, seed: int
) -> None:
    import torch

    from ai_roadmap.datasets.images import normalise

    images, labels = train
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(network.parameters(), lr=3e-3)
    network.train()
    for _ in range(steps):
        chosen = torch.randint(len(images), (64,), generator=generator)
        loss = torch.nn.functional.cross_entropy(
            network(normalise(images[chosen], *norm)), labels[chosen]
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    # a few steps leave BatchNorm's running statistics far from the weights' own: measure
    # them afresh (a cumulative average over the training images) before eval mode uses them
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None
        for start in range(0, min(len(images), 1024), 256):
            network(normalise(images[start : start + 256], *norm))
    network.eval()


def load_folder(folder: Path, name: str, version: str, origin: str) -> tuple[ModelInfo, Any]:
    """(info, probabilities module) of a torch model folder (``s3.resnet18`` / ``s3.distill``)."""
    from ai_roadmap.artifacts.torch import load_torch_model

    network, card = load_torch_model(folder)
    image = card.input_schema.get("image")
    if not image or len(image.get("shape", [])) != 3:
        raise RoadmapError(f"{folder} does not hold an image classifier (no image in its card)")
    info = ModelInfo(
        name,
        version,
        tuple(int(s) for s in image["shape"]),  # type: ignore[arg-type]
        tuple(card.classes),
        type(network).__name__,
        origin,
    )
    return info, probabilities_module(network, tuple(image["mean"]), tuple(image["std"]))


def onnx_file(module: Any, shape: tuple[int, ...], cache: Path, key: str) -> Path:
    """The module's ONNX graph (dynamic batch), exported once per ``key`` into ``cache``."""
    import torch

    from ai_roadmap.artifacts import atomic_folder
    from ai_roadmap.deploy.export import export_onnx, quiet_toolchain

    folder = cache / f"onnx-{key[:16]}"
    path = folder / "model.onnx"
    if path.exists():
        return path
    with atomic_folder(folder) as tmp:
        example = torch.zeros((2, *shape), dtype=torch.float32)
        with quiet_toolchain():
            detail = export_onnx(module, example, tmp / "model.onnx")
        (tmp / "export.json").write_text(json.dumps({"detail": detail, "key": key}))
    return path
