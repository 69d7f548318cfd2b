"""The s3.resnet18 recipe: its whole configuration, the model it builds and how it trains.

s3.resnet18 runs this recipe; s3.distill trains its teacher with it when no
trained ResNet-18 fits, so the recipe lives here rather than in either milestone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from ai_roadmap.datasets.images import ImageData, ImageSource
from ai_roadmap.training.loop import TrainOptions
from ai_roadmap.vision.resnet import ResNet, ResNetConfig


@dataclass(frozen=True)
class ResNetWidth:
    """The ``model`` section: stage widths base·(1, 2, 4, 8); 64 is ResNet-18 (11.2 M)."""

    base_width: int = 64


@dataclass(frozen=True)
class ResNet18Recipe:
    """The whole of ``conf/s3.resnet18``."""

    seed: int = 0  # model initialisation, batch order, augmentation
    checkpoint_dir: str | None = None  # None: inside the run's folder
    data: ImageSource = field(default_factory=ImageSource)
    model: ResNetWidth = field(default_factory=ResNetWidth)
    train: TrainOptions = field(default_factory=TrainOptions)


def build_resnet18(recipe: ResNet18Recipe, data: ImageData) -> ResNet:
    """ResNet-18 for the data's channels and classes, initialised from ``recipe.seed``."""
    torch.manual_seed(recipe.seed)
    arch = ResNetConfig(
        in_channels=data.channels,
        num_classes=len(data.classes),
        base_width=recipe.model.base_width,
    )
    return ResNet(arch)


def train_options(
    train: TrainOptions, source: ImageSource, data: ImageData, seed: int
) -> TrainOptions:
    """A run's ``train`` section with the crop padding of the loaded dataset and the run's seed."""
    return replace(train, crop_padding=source.padding_for(data), seed=seed)
