"""Convolution arithmetic and convolutions checked against what PyTorch actually does.

Each check puts a formula of :mod:`~ai_roadmap.deep.conv_arith` or a routine of
:mod:`~ai_roadmap.deep.conv_numpy` beside real torch layers on seeded random
configurations and returns a :class:`~ai_roadmap.checks.CheckRecord`:

- :func:`check_conv_sizes`, :func:`check_conv_transpose_sizes`, :func:`check_pool_sizes`:
  output-size formulas against the shapes torch produces (every axis with its own
  kernel, stride, padding, dilation, output padding, ceil mode); a configuration whose
  formula gives no output must make torch raise. Error = number of mismatches;
- :func:`check_numpy_conv`: the NumPy (transposed) convolution against ``F.conv2d`` /
  ``F.conv_transpose2d`` (groups, strides, dilation), max |difference| in float64;
  :func:`check_transpose_adjoint`: ⟨conv(x), y⟩ = ⟨x, conv_T(y)⟩, relative gap;
- :func:`check_receptive_field`: (r, j, c) from the recursion against the field measured
  by the gradient of one output pixel of an all-ones copy of a random stack;
- :func:`check_separable`: the cost formulas against parameters counted in real
  ``nn.Conv2d`` modules and multiply-adds counted by forward hooks, and the counted
  separable/standard ratio against 1/c_out + 1/k².

Each check takes the formula or routine under test as an argument, so a deliberately
wrong variant can be shown to fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.deep import conv_arith as ca
from ai_roadmap.deep import conv_numpy as cn

# ---------------------------------------------------------------- output sizes


def _axes(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    """Two independent integers in [low, high] — one per spatial axis."""
    return int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1))


def _shape_or_error(layer: Callable[[], torch.Tensor]) -> tuple[int, int] | None:
    """The (H, W) that ``layer()`` produces, or None when torch refuses the configuration."""
    try:
        return tuple(layer().shape[-2:])  # type: ignore[return-value]
    except RuntimeError:
        return None


def _mismatch(got: tuple[int, int] | None, formula: tuple[int, ...]) -> bool:
    """Torch's shape must equal the formula's; torch may refuse only where the formula
    leaves an axis with no output (< 1)."""
    return min(formula) >= 1 if got is None else got != formula


def check_conv_sizes(
    rng: np.random.Generator, configs: int, max_input: int, formula: Callable = ca.conv_out
) -> CheckRecord:
    """Mismatches between ``formula`` and ``F.conv2d`` output shapes (or its refusal)."""
    bad = refused = 0
    for _ in range(configs):
        n, k, s = _axes(rng, 1, max_input), _axes(rng, 1, 7), _axes(rng, 1, 4)
        p, d = _axes(rng, 0, 4), _axes(rng, 1, 3)
        x, w = torch.zeros(1, 1, *n), torch.zeros(1, 1, *k)
        got = _shape_or_error(partial(F.conv2d, x, w, stride=s, padding=p, dilation=d))
        bad += _mismatch(got, tuple(formula(*args) for args in zip(n, k, s, p, d, strict=True)))
        refused += got is None
    detail = f"{configs} random configurations, n ≤ {max_input}; {refused} refused by torch"
    return record("conv_sizes", bad, 0, detail)


def check_conv_transpose_sizes(
    rng: np.random.Generator,
    configs: int,
    max_input: int,
    formula: Callable = ca.conv_transpose_out,
) -> CheckRecord:
    """Mismatches between ``formula`` and ``F.conv_transpose2d`` output shapes (or refusal).

    Where an axis gets no output torch usually refuses, but for some dilated layers
    it returns an empty tensor of exactly the formula's shape; both count as agreement.
    """
    bad = refused = 0
    for _ in range(configs):
        n, k, s = _axes(rng, 1, max_input), _axes(rng, 1, 7), _axes(rng, 1, 4)
        p, d = _axes(rng, 0, 4), _axes(rng, 1, 3)
        op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d, strict=True))
        x, w = torch.zeros(1, 1, *n), torch.zeros(1, 1, *k)
        geometry = dict(stride=s, padding=p, output_padding=op, dilation=d)
        got = _shape_or_error(partial(F.conv_transpose2d, x, w, **geometry))
        sizes = zip(n, k, s, p, op, d, strict=True)
        bad += _mismatch(got, tuple(formula(*args) for args in sizes))
        refused += got is None
    detail = f"{configs} random configurations; {refused} refused by torch"
    return record("conv_transpose_sizes", bad, 0, detail)


def check_pool_sizes(
    rng: np.random.Generator,
    configs: int,
    max_input: int,
    kind: str = "max",
    formula: Callable = ca.pool_out,
) -> CheckRecord:
    """Mismatches between ``formula`` and max/avg pooling output shapes, both ceil modes.

    Padding is drawn up to ⌊k/2⌋ (torch's limit); inputs too short for one window
    are skipped by the formula's own count of window positions.
    """
    bad = checked = 0
    while checked < configs:
        n, k, s = _axes(rng, 1, max_input), _axes(rng, 1, 6), _axes(rng, 1, 4)
        p = tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k)
        d = _axes(rng, 1, 3) if kind == "max" else (1, 1)
        ceil = bool(rng.integers(2))
        expected = tuple(formula(*args, ceil) for args in zip(n, k, s, p, d, strict=True))
        if min(expected) < 1:
            continue
        x = torch.zeros(1, 1, *n)
        if kind == "max":
            got = _shape_or_error(partial(F.max_pool2d, x, k, s, p, d, ceil_mode=ceil))
        else:  # count_include_pad changes the values, never the shape
            include = bool(rng.integers(2))
            pool = partial(F.avg_pool2d, x, k, s, p, ceil_mode=ceil, count_include_pad=include)
            got = _shape_or_error(pool)
        bad += got != expected
        checked += 1
    return record(f"{kind}_pool_sizes", bad, 0, f"{configs} random configurations")


# ---------------------------------------------------------------- NumPy convolutions


def _random_conv(rng: np.random.Generator) -> dict[str, Any]:
    groups = int(rng.choice([1, 2, 3]))
    return dict(
        c_in=groups * int(rng.integers(1, 4)),
        c_out=groups * int(rng.integers(1, 4)),
        groups=groups,
        k=_axes(rng, 1, 4),
        stride=_axes(rng, 1, 3),
        padding=_axes(rng, 0, 2),
        dilation=_axes(rng, 1, 2),
        n=_axes(rng, 9, 14),
    )


def check_numpy_conv(
    rng: np.random.Generator,
    configs: int,
    transposed: bool = False,
    conv: Callable | None = None,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |ours − torch| over random grouped, strided, dilated 2-D (transposed) convolutions."""
    conv = conv or (cn.conv_transpose2d if transposed else cn.conv2d)
    worst = 0.0
    for _ in range(configs):
        c = _random_conv(rng)
        geometry = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"])
        if transposed:
            pairs = zip(c["stride"], c["dilation"], strict=True)
            op = tuple(int(rng.integers(0, max(s, d))) for s, d in pairs)
            geometry.update(output_padding=op)
            w_shape = (c["c_in"], c["c_out"] // c["groups"], *c["k"])
        else:
            w_shape = (c["c_out"], c["c_in"] // c["groups"], *c["k"])
        x, w = rng.standard_normal((2, c["c_in"], *c["n"])), rng.standard_normal(w_shape)
        torch_conv = F.conv_transpose2d if transposed else F.conv2d
        reference = torch_conv(
            torch.from_numpy(x), torch.from_numpy(w), groups=c["groups"], **geometry
        )
        ours = conv(x, w, groups=c["groups"], **geometry)
        if ours.shape != tuple(reference.shape):
            return record(_numpy_name(transposed), np.inf, tolerance, f"shape {ours.shape}")
        worst = max(worst, float(np.max(np.abs(ours - reference.numpy()))))
    return record(_numpy_name(transposed), worst, tolerance, f"{configs} random layers, float64")


def _numpy_name(transposed: bool) -> str:
    return "conv_transpose2d_numpy" if transposed else "conv2d_numpy"


def check_transpose_adjoint(
    rng: np.random.Generator,
    configs: int,
    transpose: Callable = cn.conv_transpose2d,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |⟨conv(x), y⟩ − ⟨x, conv_T(y)⟩| / (||conv(x)|| ||y||) over random layers.

    output_padding is chosen so that conv_T maps back onto x's size.
    """
    worst = 0.0
    for _ in range(configs):
        c = _random_conv(rng)
        x = rng.standard_normal((2, c["c_in"], *c["n"]))
        w = rng.standard_normal((c["c_out"], c["c_in"] // c["groups"], *c["k"]))
        geometry = dict(stride=c["stride"], padding=c["padding"], dilation=c["dilation"])
        cx = cn.conv2d(x, w, groups=c["groups"], **geometry)
        y = rng.standard_normal(cx.shape)
        sizes = zip(cx.shape[2:], c["k"], c["stride"], c["padding"], c["dilation"], strict=True)
        back = [ca.conv_transpose_out(n, k, s, p, 0, d) for n, k, s, p, d in sizes]
        op = tuple(int(n - b) for n, b in zip(c["n"], back, strict=True))
        ty = transpose(y, w, output_padding=op, groups=c["groups"], **geometry)
        gap = abs(np.sum(cx * y) - np.sum(x * ty)) / (np.linalg.norm(cx) * np.linalg.norm(y))
        worst = max(worst, float(gap))
    return record("transpose_adjoint", worst, tolerance, f"{configs} random layers")


# ---------------------------------------------------------------- receptive fields


def random_stack(rng: np.random.Generator, max_layers: int, max_stride: int) -> list[ca.Layer]:
    """2 … max_layers conv/pool layers whose strides multiply to at most max_stride."""
    layers, total = [], 1
    for _ in range(int(rng.integers(2, max_layers + 1))):
        if rng.random() < 0.25:
            k = int(rng.integers(2, 4))
            s = int(rng.integers(1, 3)) if total * 2 <= max_stride else 1
            layers.append(ca.Layer("pool", k, s, int(rng.integers(0, k // 2 + 1))))
        else:
            k, d = int(rng.integers(1, 6)), int(rng.integers(1, 3))
            s = int(rng.choice([1, 1, 2, 3]))
            s = s if total * s <= max_stride else 1
            layers.append(ca.Layer("conv", k, s, int(rng.integers(0, (k - 1) * d + 1)), d))
        total *= layers[-1].stride
    return layers


def field_mismatch(layers: list[ca.Layer], formula: Callable = ca.receptive_field) -> bool:
    """True when the measured field (size and centre, both axes) differs from the formula."""
    rf, jump, start = formula(layers)
    field = ca.empirical_receptive_field(ca.ones_model(layers), ca.safe_input_size(layers))
    centres = tuple(start + i * jump for i in field.output_index)
    return field.touches_border or field.size != (rf, rf) or field.centre != centres


def check_receptive_field(
    rng: np.random.Generator,
    stacks: int,
    max_layers: int = 5,
    max_stride: int = 8,
    formula: Callable = ca.receptive_field,
) -> CheckRecord:
    """Stacks where the recursion's (r, j, c) disagrees with the gradient measurement."""
    bad = sum(
        field_mismatch(random_stack(rng, max_layers, max_stride), formula) for _ in range(stacks)
    )
    return record("receptive_field", bad, 0, f"{stacks} random stacks of ≤ {max_layers} layers")


# ---------------------------------------------------------------- separable convolutions


@dataclass(frozen=True)
class SeparableGrid:
    """The (c_in, c_out, k) combinations whose standard and separable costs are compared."""

    c_in: tuple[int, ...] = (16, 32)  # input channels (the ratio does not depend on them)
    c_out: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    kernels: tuple[int, ...] = (3, 5, 7)
    spatial: int = 8  # output height = width ('same' padding, stride 1)


def separable_grid(cfg: SeparableGrid) -> list[tuple[int, int, int]]:
    """(c_in, c_out, k) combinations of the config."""
    return list(itertools.product(cfg.c_in, cfg.c_out, cfg.kernels))


def counted_costs(c_in: int, c_out: int, k: int, size: int) -> tuple[ca.ConvCost, ca.ConvCost]:
    """(standard, separable) params and MACs counted on real modules on a size×size input."""
    x = torch.zeros(1, c_in, size, size)
    standard, separable = ca.standard_conv(c_in, c_out, k), ca.separable_conv(c_in, c_out, k)
    return (
        ca.ConvCost(ca.count_params(standard), ca.count_macs(standard, x)),
        ca.ConvCost(ca.count_params(separable), ca.count_macs(separable, x)),
    )


def check_separable(
    cfg: SeparableGrid, separable: Callable[..., ca.ConvCost] = ca.separable_cost
) -> list[CheckRecord]:
    """Params and MACs: formulas vs counted (mismatches), and the ratio vs 1/c_out + 1/k²."""
    params_bad = macs_bad = 0
    ratio_gap = 0.0
    h = w = cfg.spatial
    for c_in, c_out, k in separable_grid(cfg):
        counted = counted_costs(c_in, c_out, k, cfg.spatial)
        formula = (ca.standard_cost(c_in, c_out, k, h, w), separable(c_in, c_out, k, h, w))
        params_bad += any(c.params != f.params for c, f in zip(counted, formula, strict=True))
        macs_bad += any(c.macs != f.macs for c, f in zip(counted, formula, strict=True))
        ratios = (counted[1].params / counted[0].params, counted[1].macs / counted[0].macs)
        ratio_gap = max(ratio_gap, *(abs(r - ca.separable_ratio(c_out, k)) for r in ratios))
    n = len(separable_grid(cfg))
    return [
        record("separable_params", params_bad, 0, f"{n} (c_in, c_out, k) combinations"),
        record("separable_macs", macs_bad, 0, f"{n} combinations, {h}×{w} output, forward hooks"),
        record("separable_ratio", ratio_gap, 1e-12, "counted ratio vs 1/c_out + 1/k²"),
    ]
