"""U-Net and DeepLabV3+ shapes, the encoder's output stride, and the ASPP dilation arithmetic."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.deep import conv_arith as ca
from ai_roadmap.vision.segment.checks import branch_fields, check_aspp, effective_kernel
from ai_roadmap.vision.segment.deeplab import ASPP, DeepLabConfig, DeepLabV3Plus
from ai_roadmap.vision.segment.unet import UNet, UNetConfig


@pytest.mark.parametrize(
    "model",
    [
        UNet(UNetConfig(num_classes=4, base=4, depth=3)),
        DeepLabV3Plus(DeepLabConfig(num_classes=4, base=4, blocks=(1, 1, 1, 1), output_stride=16)),
        DeepLabV3Plus(DeepLabConfig(num_classes=4, base=4, blocks=(1, 1, 1, 1), output_stride=8)),
    ],
)
def test_logits_have_one_channel_per_class_at_input_size(model: torch.nn.Module) -> None:
    y = model(torch.randn(2, 3, 64, 48))
    assert y.shape == (2, 4, 64, 48)


@pytest.mark.parametrize(
    ("stride", "dilations", "side"), [(16, [1, 1, 1, 2], 4), (8, [1, 1, 2, 4], 8)]
)
def test_encoder_stops_halving_at_the_output_stride_and_dilates(
    stride: int, dilations: list[int], side: int
) -> None:
    model = DeepLabV3Plus(DeepLabConfig(base=4, blocks=(1, 1, 1, 1), output_stride=stride))
    assert model.encoder.dilations == dilations
    low, deep = model.encoder(torch.randn(1, 3, 64, 64))
    assert low.shape[-1] == 64 // 4 and deep.shape[-1] == side


def test_sizes_not_divisible_are_refused() -> None:
    with pytest.raises(ValueError, match="divisible by 8"):
        UNet(UNetConfig(depth=3))(torch.randn(1, 3, 60, 64))
    with pytest.raises(ValueError, match="divide by 16"):
        DeepLabV3Plus(DeepLabConfig(base=4))(torch.randn(1, 3, 72, 64))


@pytest.mark.parametrize(
    ("k", "d", "expected"), [(3, 1, 3), (3, 2, 5), (3, 6, 13), (3, 12, 25), (5, 3, 13)]
)
def test_effective_kernel_by_hand(k: int, d: int, expected: int) -> None:
    assert effective_kernel(k, d) == expected


def test_aspp_branches_have_the_atrous_effective_kernel() -> None:
    """k_eff = k + (k − 1)(d − 1): the s3.cnn recursion and the gradient field agree."""
    aspp = ASPP(8, 4, rates=(2, 4, 6, 12), dropout=0.0)
    rows = branch_fields(aspp)
    assert [d for d, *_ in rows] == [1, 2, 4, 6, 12]
    for d, formula, recursion, measured in rows:
        k = 1 if d == 1 else 3
        assert formula == k + (k - 1) * (d - 1) == recursion == measured
    assert check_aspp(aspp).passed
    # the measurement sees holes: a dilated kernel touches k taps, not its whole span
    layer = aspp.branch_layers()[2]  # d = 4
    grad = ca.empirical_receptive_field(ca.ones_model([layer]), ca.safe_input_size([layer]))
    row = grad.gradient[grad.gradient.shape[0] // 2]
    assert (row != 0).sum() == 3 and grad.size == (9, 9)


def test_aspp_keeps_the_feature_side() -> None:
    aspp = ASPP(8, 4, rates=(2, 4, 6), dropout=0.0)
    assert aspp(torch.randn(2, 8, 10, 10)).shape == (2, 4, 10, 10)
