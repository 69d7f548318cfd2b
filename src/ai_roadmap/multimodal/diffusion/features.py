"""A small CNN classifier of the stamp classes whose penultimate layer gives image features.

FID needs a feature space in which "looks like the class" is a short distance. Inception
is not available here, so a network is trained on the same real images the diffusion
model learns from: three conv–BN–ReLU–pool stages and global average pooling give a
``width``-dimensional feature vector, a linear layer the class logits (cross-entropy,
random flips). Its accuracy on held-out real stamps says how much its features know.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class FeatureTrain:
    """The classifier's width and its training."""

    width: int = 64
    epochs: int = 15
    batch_size: int = 64
    lr: float = 3e-3


class FeatureNet(nn.Module):
    """Images (B, 3, S, S) in [0, 1] → features (B, width) → class logits."""

    def __init__(self, classes: int, width: int = 64) -> None:
        super().__init__()

        def stage(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )

        self.body = nn.Sequential(
            stage(3, width // 2), stage(width // 2, width), stage(width, width)
        )
        self.head = nn.Linear(width, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x * 2.0 - 1.0).mean(dim=(2, 3))  # (B, C, h, w) -> (B, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class FeatureReport:
    net: FeatureNet
    heldout_accuracy: float
    seconds: float


def train_feature_net(
    images: torch.Tensor,
    labels: torch.Tensor,
    heldout: torch.Tensor,
    heldout_labels: torch.Tensor,
    classes: int,
    cfg: FeatureTrain,
) -> FeatureReport:
    """Train on (images, labels) with flips and AdamW + cosine decay; score on the held-out set."""
    started = time.perf_counter()
    net = FeatureNet(classes, cfg.width)
    steps_per_epoch = -(-len(images) // cfg.batch_size)
    optimiser = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=1e-4)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, cfg.epochs * steps_per_epoch)
    net.train()
    for _ in range(cfg.epochs):
        order = torch.randperm(len(images))
        for index in order.split(cfg.batch_size):
            x = images[index]
            mirror = torch.rand(len(x)) < 0.5
            x = torch.where(mirror[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(net(x), labels[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            decay.step()
    net.eval()
    accuracy = float((predict_classes(net, heldout) == heldout_labels).double().mean())
    return FeatureReport(net, accuracy, time.perf_counter() - started)


@torch.no_grad()
def predict_classes(net: FeatureNet, images: torch.Tensor) -> torch.Tensor:
    return net(images).argmax(dim=1)


@torch.no_grad()
def image_features(net: FeatureNet, images: torch.Tensor) -> np.ndarray:
    """Penultimate features (N, width), float64, for the Fréchet distance."""
    return net.features(images).double().numpy()
