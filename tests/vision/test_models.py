"""ResNet-18 and MobileNetV2: parameter counts and costs against published figures, shapes.

Expected counts are computed here from the layer formulas (a k×k conv from c to c'
channels without bias has k²·c·c' weights, a BatchNorm 2c, a linear layer
d_in·d_out + d_out), not read off the model; the ImageNet configurations are
compared with the figures published for torchvision's reference models.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ai_roadmap.vision.mobilenetv2 import (
    InvertedResidual,
    MobileNetV2,
    MobileNetV2Config,
    make_divisible,
    mobilenet_v2,
)
from ai_roadmap.vision.resnet import (
    BasicBlock,
    ResNet,
    ResNetConfig,
    count_multiply_accumulates,
    count_parameters,
    resnet18,
)

RESNET18_IMAGENET_PARAMS = 11_689_512  # torchvision resnet18, He et al. 2016
RESNET18_IMAGENET_MACS = 1.8e9  # "1.8 × 10⁹ FLOPs" (multiply-adds), Table 1 of the paper
MOBILENETV2_IMAGENET_PARAMS = 3_504_872  # torchvision mobilenet_v2 (paper: 3.4 M)
MOBILENETV2_IMAGENET_MACS = 300e6  # Table 4 of Sandler et al. 2018: 300 M multiply-adds


def conv(c_in: int, c_out: int, k: int) -> int:
    return k * k * c_in * c_out


def bn(c: int) -> int:
    return 2 * c


def resnet18_formula(in_channels: int, classes: int, stem_kernel: int = 3) -> int:
    """Stem + 4 stages × 2 basic blocks (+ 1×1 projection where the shape changes) + fc."""
    total = conv(in_channels, 64, stem_kernel) + bn(64)
    c_in = 64
    for width in (64, 128, 256, 512):
        for block in range(2):
            source = c_in if block == 0 else width
            total += conv(source, width, 3) + bn(width) + conv(width, width, 3) + bn(width)
            if block == 0 and source != width:
                total += conv(source, width, 1) + bn(width)
        c_in = width
    return total + 512 * classes + classes


def test_resnet18_cifar_parameter_count_matches_the_layer_formula() -> None:
    assert count_parameters(resnet18(3, 10)) == resnet18_formula(3, 10)
    assert count_parameters(resnet18(1, 10)) == resnet18_formula(1, 10)
    # The published "≈ 11.2 M" for CIFAR-10.
    assert abs(count_parameters(resnet18(3, 10)) - 11.2e6) / 11.2e6 < 0.005


def test_resnet18_imagenet_configuration_has_the_published_count() -> None:
    model = ResNet(ResNetConfig(3, 1000, imagenet_stem=True))
    assert count_parameters(model) == RESNET18_IMAGENET_PARAMS
    assert resnet18_formula(3, 1000, stem_kernel=7) == RESNET18_IMAGENET_PARAMS
    macs = count_multiply_accumulates(model, (3, 224, 224))
    assert abs(macs - RESNET18_IMAGENET_MACS) / RESNET18_IMAGENET_MACS < 0.02


def test_resnet18_cifar_cost_is_the_sum_of_its_convolutions() -> None:
    """32×32 input: stages at 32, 16, 8, 4 pixels; MACs = Σ H·W·k²·c_in·c_out + fc."""
    size = {64: 32, 128: 16, 256: 8, 512: 4}
    expected = 32 * 32 * conv(3, 64, 3)
    c_in = 64
    for width in (64, 128, 256, 512):
        pixels = size[width] ** 2
        expected += pixels * (conv(c_in, width, 3) + 3 * conv(width, width, 3))
        if c_in != width:
            expected += pixels * conv(c_in, width, 1)
        c_in = width
    expected += 512 * 10
    assert count_multiply_accumulates(resnet18(), (3, 32, 32)) == expected


def test_mobilenetv2_imagenet_configuration_has_the_published_count() -> None:
    model = MobileNetV2(MobileNetV2Config(3, 1000, cifar_stem=False))
    assert count_parameters(model) == MOBILENETV2_IMAGENET_PARAMS
    macs = count_multiply_accumulates(model, (3, 224, 224))
    assert abs(macs - MOBILENETV2_IMAGENET_MACS) / MOBILENETV2_IMAGENET_MACS < 0.02


def test_mobilenetv2_for_ten_classes_is_about_2_2_million() -> None:
    """Only the classifier changes: 1 281 · 1 000 weights and biases become 1 281 · 10."""
    count = count_parameters(mobilenet_v2(3, 10))
    assert count == MOBILENETV2_IMAGENET_PARAMS - 1281 * 1000 + 1281 * 10
    assert abs(count - 2.2e6) / 2.2e6 < 0.02


def test_width_multiplier_rounds_to_multiples_of_8_and_shrinks_the_model() -> None:
    assert make_divisible(32 * 0.5) == 16
    assert make_divisible(24 * 0.35) == 8
    assert make_divisible(20) == 24  # 16 would be more than 10 % below 20
    counts = [count_parameters(mobilenet_v2(3, 10, alpha)) for alpha in (0.5, 0.75, 1.0, 1.4)]
    assert counts == sorted(counts) and len(set(counts)) == 4
    for module in mobilenet_v2(3, 10, 0.75).modules():
        if isinstance(module, nn.Conv2d) and module.in_channels > 3:
            assert module.out_channels % 8 == 0


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("make", [resnet18, mobilenet_v2])
def test_output_shapes(shape: tuple[int, int, int], make: object) -> None:
    torch.manual_seed(0)
    model = make(in_channels=shape[0], num_classes=10).eval()  # type: ignore[operator]
    out = model(torch.randn(2, *shape))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


def test_resnet_reaches_a_4x4_map_from_32x32_with_the_cifar_stem() -> None:
    model = resnet18().eval()
    features = model.stages(model.stem(torch.randn(1, 3, 32, 32)))
    assert features.shape == (1, 512, 4, 4)


def test_basic_block_starts_as_the_identity_plus_relu() -> None:
    """γ = 0 in the branch's last BN: y = ReLU(0 + x) for a non-projecting block."""
    block = BasicBlock(8, 8, 1).eval()
    x = torch.randn(2, 8, 6, 6)
    torch.testing.assert_close(block(x), torch.relu(x))
    projecting = BasicBlock(8, 16, 2).eval()
    assert isinstance(projecting.shortcut, nn.Sequential)
    assert projecting(x).shape == (2, 16, 3, 3)


def test_inverted_residual_projection_is_linear_and_shortcut_only_when_shapes_match() -> None:
    torch.manual_seed(0)
    same = InvertedResidual(16, 16, 1, 6).eval()
    assert same.use_shortcut
    # No ReLU after the projection: the branch output takes negative values.
    x = torch.randn(4, 16, 8, 8)
    assert (same.block(x) < 0).any()
    torch.testing.assert_close(same(x), x + same.block(x))
    assert not InvertedResidual(16, 24, 1, 6).use_shortcut
    assert not InvertedResidual(16, 16, 2, 6).use_shortcut


def test_configs_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        ResNetConfig(num_classes=1)
    with pytest.raises(ValueError):
        ResNetConfig(blocks_per_stage=(2, 0))
    with pytest.raises(ValueError):
        MobileNetV2Config(width_mult=0)
