"""ResNet-18 in plain PyTorch, with the CIFAR-style stem for 32×32 and 28×28 images.

He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition" (CVPR 2016).
A residual block learns a correction F to the identity instead of a whole map:

    y = ReLU(F(x) + S(x)),   F(x) = BN(W₂ ∗ ReLU(BN(W₁ ∗ x)))

where ∗ is a 3×3 convolution and S is the identity, or a 1×1 convolution + BN
("projection shortcut", option B of the paper) when the block changes the number
of channels or halves the resolution. Since ∂y/∂x ≈ I + ∂F/∂x before the ReLU, the
gradient reaches early layers through the shortcuts without the product of
per-layer Jacobians that makes plain deep networks hard to train (see
:mod:`ai_roadmap.deep.residual` for the derivation).

ResNet-18 = stem + four stages of two basic blocks, widths 64, 128, 256, 512,
each stage after the first halving the resolution (stride 2 in its first block),
then global average pooling and one linear layer:

    layers with weights: 1 (stem) + 4 stages × 2 blocks × 2 convs + 1 (fc) = 18

The ImageNet stem (7×7 conv stride 2 + 3×3 max-pool stride 2) shrinks a 224×224
image to 56×56 before the first stage; on a 32×32 image that would leave 8×8,
so the CIFAR variant used by most CIFAR-10 ResNet-18 baselines has one 3×3 conv
with stride 1 and no pooling: the stages then see 32 → 16 → 8 → 4 pixels
(28 → 14 → 7 → 4 for Fashion-MNIST).

Parameter count for 10 classes and 3 input channels (convs have no bias; each BN
has γ and β): 11 173 962 ≈ 11.2 M; the ImageNet configuration (1 000 classes,
7×7 stem) has the published 11 689 512.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ResNetConfig:
    """ResNet hyperparameters; the defaults are ResNet-18 with a CIFAR stem for CIFAR-10.

    ``base_width`` scales every stage (64 → widths 64, 128, 256, 512); a smaller
    value gives the same architecture at a fraction of the cost (for tests).
    """

    in_channels: int = 3
    num_classes: int = 10
    base_width: int = 64
    blocks_per_stage: tuple[int, ...] = (2, 2, 2, 2)
    imagenet_stem: bool = False

    def __post_init__(self) -> None:
        if self.in_channels < 1 or self.num_classes < 2 or self.base_width < 1:
            raise ValueError("in_channels ≥ 1, num_classes ≥ 2 and base_width ≥ 1 are required")
        if not self.blocks_per_stage or min(self.blocks_per_stage) < 1:
            raise ValueError("every stage needs at least one block")

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(self.base_width * 2**i for i in range(len(self.blocks_per_stage)))


def conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    """Convolution (no bias: BN's β replaces it) followed by BatchNorm."""
    conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """y = ReLU(BN(W₂ ∗ ReLU(BN(W₁ ∗ x))) + S(x)), S the identity or a 1×1 projection."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            conv_bn(c_in, c_out, 3, stride), nn.ReLU(inplace=True), conv_bn(c_out, c_out, 3, 1)
        )
        # A projection only where the identity cannot be added (shape changes).
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = conv_bn(c_in, c_out, 1, stride) if needs_projection else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        # Zero γ of the branch's last BN: each block starts as the identity, which
        # steadies the first steps (Goyal et al. 2017, "Accurate, Large Minibatch SGD").
        nn.init.zeros_(self.branch[-1][1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.branch(x) + self.shortcut(x))


def make_stem(cfg: ResNetConfig) -> nn.Sequential:
    """CIFAR stem: 3×3 conv stride 1; ImageNet stem: 7×7 conv stride 2 + 3×3 max-pool."""
    if cfg.imagenet_stem:
        return nn.Sequential(
            conv_bn(cfg.in_channels, cfg.base_width, 7, 2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
    return nn.Sequential(conv_bn(cfg.in_channels, cfg.base_width, 3, 1), nn.ReLU(inplace=True))


class ResNet(nn.Module):
    """Stem → stages of :class:`BasicBlock` → global average pool → linear classifier."""

    def __init__(self, cfg: ResNetConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or ResNetConfig()
        self.stem = make_stem(self.cfg)
        stages: list[nn.Module] = []
        c_in = self.cfg.base_width
        for index, (width, blocks) in enumerate(
            zip(self.cfg.widths, self.cfg.blocks_per_stage, strict=True)
        ):
            stride = 1 if index == 0 else 2
            layers = [BasicBlock(c_in, width, stride)]
            layers += [BasicBlock(width, width, 1) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            c_in = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, self.cfg.num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                # He initialisation for ReLU nets: Var(w) = 2 / fan_out keeps activations' scale.
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))  # (B, C, H, W) -> (B, 8·base, H/8, W/8) with a CIFAR stem
        return self.fc(torch.flatten(self.pool(x), 1))  # (B, 8·base, 1, 1) -> (B, classes)


def resnet18(in_channels: int = 3, num_classes: int = 10, base_width: int = 64) -> ResNet:
    """ResNet-18 with the CIFAR stem (2 basic blocks in each of 4 stages)."""
    return ResNet(ResNetConfig(in_channels, num_classes, base_width, (2, 2, 2, 2)))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars Σ numel(p) over the model's parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_multiply_accumulates(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of one image of ``input_shape`` (C, H, W).

    A convolution does H_out·W_out·C_out·(C_in / groups)·k_h·k_w of them, a linear
    layer d_in·d_out; BN, ReLU, pooling and additions are left out (a few per cent).
    A training step costs about 3× the forward (the backward computes a gradient
    with respect to both the inputs and the weights), so 2·3·MACs FLOPs per image.
    """
    total = 0

    def conv_hook(module: nn.Conv2d, _: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        k_h, k_w = module.kernel_size
        total += out[0].numel() * (module.in_channels // module.groups) * k_h * k_w

    def linear_hook(module: nn.Linear, _: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += module.in_features * module.out_features

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
    model.train(was_training)
    for handle in handles:
        handle.remove()
    return total
