"""Convolution arithmetic: output sizes, NumPy (transposed) convolutions, receptive fields
and separable costs against real PyTorch layers (float64), wrong variants failing.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from ai_roadmap.checks import CheckRecord
from ai_roadmap.deep import conv_arith as ca
from ai_roadmap.deep import conv_checks as cc
from ai_roadmap.deep import conv_numpy as cn

pytestmark = [
    pytest.mark.reference,
    pytest.mark.usefixtures("one_torch_thread"),
]  # tiny tensors: threads only sync


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


# ---------------------------------------------------------------- output sizes, 1-D layers


@given(
    n=st.integers(1, 60), k=st.integers(1, 9), s=st.integers(1, 5), p=st.integers(0, 6),
    d=st.integers(1, 4),
)  # fmt: skip
def test_conv_out_is_conv1d_length(n: int, k: int, s: int, p: int, d: int) -> None:
    expected = ca.conv_out(n, k, s, p, d)
    x, w = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
    if expected < 1:
        with pytest.raises(RuntimeError):
            F.conv1d(x, w, stride=s, padding=p, dilation=d)
    else:
        assert F.conv1d(x, w, stride=s, padding=p, dilation=d).shape[-1] == expected


@given(
    n=st.integers(1, 40), k=st.integers(1, 9), s=st.integers(1, 5), p=st.integers(0, 3),
    d=st.integers(1, 4), data=st.data(),
)  # fmt: skip
def test_conv_transpose_out_is_conv_transpose1d_length(
    n: int, k: int, s: int, p: int, d: int, data: st.DataObject
) -> None:
    op = data.draw(st.integers(0, max(s, d) - 1))
    expected = ca.conv_transpose_out(n, k, s, p, op, d)
    assume(expected >= 1)  # shorter outputs are refused (the 2-D check covers them)
    out = F.conv_transpose1d(
        torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, output_padding=op,
        dilation=d,
    )  # fmt: skip
    assert out.shape[-1] == expected


@given(
    n=st.integers(1, 60), k=st.integers(1, 7), s=st.integers(1, 5), d=st.integers(1, 3),
    ceil=st.booleans(), data=st.data(),
)  # fmt: skip
def test_pool_out_is_max_pool1d_length(
    n: int, k: int, s: int, d: int, ceil: bool, data: st.DataObject
) -> None:
    p = data.draw(st.integers(0, k // 2))
    expected = ca.pool_out(n, k, s, p, d, ceil)
    if expected >= 1:
        out = F.max_pool1d(torch.zeros(1, 1, n), k, s, p, d, ceil_mode=ceil)
        assert out.shape[-1] == expected


def test_pool_stride_defaults_to_kernel() -> None:
    assert ca.pool_out(28, 2) == 14
    assert ca.pool_out(7, 2) == 3 and ca.pool_out(7, 2, ceil_mode=True) == 4


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_size_checks_pass(kind: str) -> None:
    assert cc.check_pool_sizes(rng(), 400, 30, kind).passed


def test_conv_size_checks_pass_and_include_refusals() -> None:
    rec = cc.check_conv_sizes(rng(), 300, 30)
    assert rec.passed, rec
    assert "0 refused" not in rec.detail  # the sampler reaches configurations torch rejects
    assert cc.check_conv_transpose_sizes(rng(), 300, 30).passed


def test_conv_out_ignoring_dilation_is_detected() -> None:
    def no_dilation(n: int, k: int, s: int, p: int, d: int) -> int:
        return (n + 2 * p - k) // s + 1

    assert_detected(cc.check_conv_sizes(rng(), 200, 30, formula=no_dilation))


def test_conv_transpose_out_ignoring_output_padding_is_detected() -> None:
    def no_output_padding(n: int, k: int, s: int, p: int, op: int, d: int) -> int:
        return ca.conv_transpose_out(n, k, s, p, 0, d)

    assert_detected(cc.check_conv_transpose_sizes(rng(), 200, 30, formula=no_output_padding))


def test_ceil_mode_without_the_last_window_rule_is_detected() -> None:
    def plain_ceil(n: int, k: int, s: int, p: int, d: int, ceil: bool) -> int:
        span = n + 2 * p - d * (k - 1) - 1
        return -(-span // s) + 1 if ceil else span // s + 1

    assert_detected(cc.check_pool_sizes(rng(), 1000, 30, "max", formula=plain_ceil))


# ---------------------------------------------------------------- NumPy convolutions


@pytest.mark.parametrize("transposed", [False, True])
def test_numpy_convolutions_match_torch(transposed: bool) -> None:
    rec = cc.check_numpy_conv(rng(), 25, transposed)
    assert rec.passed, rec
    assert rec.error < 1e-12


def test_true_convolution_is_not_torch_conv2d() -> None:
    def flipped(x, w, **kwargs):  # convolution in the textbook sense flips the kernel
        return cn.conv2d(x, w[:, :, ::-1, ::-1], **kwargs)

    assert_detected(cc.check_numpy_conv(rng(), 10, conv=flipped))


def test_transposed_convolution_is_the_gradient_of_convolution() -> None:
    g = rng(1)
    x = g.standard_normal((2, 4, 11, 9))
    w = g.standard_normal((6, 2, 3, 2))
    geometry = dict(stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=2)
    y = g.standard_normal(cn.conv2d(x, w, **geometry).shape)
    xt = torch.from_numpy(x).requires_grad_()
    (F.conv2d(xt, torch.from_numpy(w), **geometry) * torch.from_numpy(y)).sum().backward()
    op = (  # the rows / columns the strided convolution skipped at the end
        x.shape[2] - ca.conv_transpose_out(y.shape[2], 3, 2, 1, 0, 2),
        x.shape[3] - ca.conv_transpose_out(y.shape[3], 2, 3, 0, 0, 1),
    )
    assert op == (0, 1)
    ours = cn.conv_transpose2d(y, w, output_padding=op, **geometry)
    np.testing.assert_allclose(ours, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_adjoint_identity_holds_and_catches_a_wrong_transpose() -> None:
    assert cc.check_transpose_adjoint(rng(), 20).passed

    def flipped_kernel(y, w, **kwargs):  # scatters with the kernel turned by 180°
        return cn.conv_transpose2d(y, np.ascontiguousarray(w[:, :, ::-1, ::-1]), **kwargs)

    assert_detected(cc.check_transpose_adjoint(rng(), 20, flipped_kernel))


# ---------------------------------------------------------------- receptive fields


def test_vgg16_receptive_field_is_212() -> None:
    conv, pool = ca.Layer("conv", 3, 1, 1), ca.Layer("pool", 2, 2)
    blocks = (2, 2, 3, 3, 3)
    layers = [layer for n in blocks for layer in [conv] * n + [pool]]
    rf, jump, centre = ca.receptive_field(layers)
    assert (rf, jump) == (212, 32)  # the published value for VGG-16 pool5
    assert centre == 15.5


def test_receptive_field_matches_gradients_on_random_stacks() -> None:
    rec = cc.check_receptive_field(rng(), 20, max_layers=4)
    assert rec.passed, rec


def test_receptive_field_with_the_current_stride_is_detected() -> None:
    def stride_too_early(layers):
        rf, jump, centre = 1, 1, 0.0
        for layer in layers:
            jump *= layer.stride  # j_l used where j_{l−1} belongs
            centre += ((layer.kernel - 1) * layer.dilation / 2 - layer.padding) * jump
            rf += (layer.kernel - 1) * layer.dilation * jump
        return rf, jump, centre

    assert_detected(cc.check_receptive_field(rng(), 10, max_layers=4, formula=stride_too_early))


def test_receptive_field_ignoring_padding_shift_is_detected() -> None:
    def no_padding_shift(layers):
        rf, jump, centre = 1, 1, 0.0
        for layer in layers:
            centre += (layer.kernel - 1) * layer.dilation / 2 * jump  # − p_l forgotten
            rf += (layer.kernel - 1) * layer.dilation * jump
            jump *= layer.stride
        return rf, jump, centre

    assert_detected(cc.check_receptive_field(rng(), 10, max_layers=4, formula=no_padding_shift))


def test_dilated_field_has_holes_inside_its_span() -> None:
    layers = [ca.Layer("conv", 3, 1, 0, 2)]
    field = ca.empirical_receptive_field(ca.ones_model(layers), 11)
    assert field.size == (5, 5) == (ca.receptive_field(layers)[0],) * 2
    assert int(np.count_nonzero(field.gradient)) == 9  # 3 × 3 taps, 2 pixels apart


# ---------------------------------------------------------------- separable convolutions


def test_costs_counted_on_a_layer_worked_by_hand() -> None:
    conv = torch.nn.Conv2d(3, 8, 3, stride=2, bias=False)
    assert ca.count_params(conv) == 8 * 3 * 3 * 3
    # output 8 × 4 × 4 = 128 values, each a dot product of 3·3·3 = 27 taps
    assert ca.count_macs(conv, torch.zeros(1, 3, 9, 9)) == 128 * 27


def test_separable_formulas_match_counted_modules() -> None:
    grid = cc.SeparableGrid(c_in=(3, 16), c_out=(8, 64), kernels=(3, 5), spatial=7)
    records = cc.check_separable(grid)
    assert all(r.passed for r in records), records
    assert ca.separable_ratio(256, 3) == pytest.approx(1 / 256 + 1 / 9, rel=1e-15)


def test_separable_formula_missing_the_depthwise_part_is_detected() -> None:
    grid = cc.SeparableGrid(c_in=(16,), c_out=(8, 64), kernels=(3,), spatial=6)

    def pointwise_only(c_in: int, c_out: int, k: int, h: int, w: int) -> ca.ConvCost:
        return ca.ConvCost(c_in * c_out, c_in * c_out * h * w)

    params, macs, _ = cc.check_separable(grid, separable=pointwise_only)
    assert_detected(params)
    assert_detected(macs)
