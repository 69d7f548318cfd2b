"""Convolution arithmetic: output sizes, receptive fields and the cost of separable convolutions.

Everything here is along one spatial axis (a 2-D layer applies it to each axis
with that axis's kernel, stride, padding and dilation). For an input of n pixels,
kernel k, stride s, padding p on both sides and dilation d (Dumoulin & Visin,
"A guide to convolution arithmetic for deep learning", 2016):

- a dilated kernel covers d(k − 1) + 1 pixels; the padded input has n + 2p, so the
  kernel fits at ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 positions (:func:`conv_out`);
- a transposed convolution is the adjoint (the gradient) of that convolution: it
  maps the conv's output size back to its input size, n' = (n − 1)s − 2p + d(k − 1)
  + 1, plus ``output_padding`` to pick one of the s input sizes that all map to the
  same n (:func:`conv_transpose_out`);
- pooling counts window positions like a convolution; with ``ceil_mode`` the
  division rounds up, but a last window that would start in the right padding
  is dropped (:func:`pool_out`).

The receptive field of a stack (:func:`receptive_field`) follows from the same
picture, and :func:`empirical_receptive_field` measures it with autograd. The
last section counts parameters and multiply-adds of a standard k×k convolution
and of its depthwise separable factorisation (Howard et al., "MobileNets", 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------- output sizes


def conv_out(n: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> int:
    """Output length of a convolution: ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 (< 1: no output)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_transpose_out(
    n: int, k: int, s: int = 1, p: int = 0, output_padding: int = 0, d: int = 1
) -> int:
    """Output length of a transposed convolution: (n − 1)s − 2p + d(k − 1) + output_padding + 1.

    Solving :func:`conv_out` for n gives every input size that a stride-s
    convolution maps to the same output (the floor hides s − 1 of them);
    output_padding ∈ [0, max(s, d)) selects one.
    """
    return (n - 1) * s - 2 * p + d * (k - 1) + output_padding + 1


def pool_out(
    n: int, k: int, s: int | None = None, p: int = 0, d: int = 1, ceil_mode: bool = False
) -> int:
    """Output length of max/average pooling (stride defaults to the kernel size).

    floor mode: as :func:`conv_out`. ceil mode: ⌈(n + 2p − d(k − 1) − 1) / s⌉ + 1,
    minus one when the last window would start at or after n + p, i.e. entirely
    in the right padding — it would see no real pixel.
    """
    s = k if s is None else s
    span = n + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1  # ceiling division
    if (out - 1) * s >= n + p:
        out -= 1
    return out


# ---------------------------------------------------------------- receptive fields


@dataclass(frozen=True)
class Layer:
    """One layer of a stack, as far as geometry goes: a sliding window of k taps."""

    kind: Literal["conv", "pool"]
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    def __post_init__(self) -> None:
        if self.kernel < 1 or self.stride < 1 or self.dilation < 1 or self.padding < 0:
            raise ValueError(f"invalid layer {self}")
        if self.kind == "pool" and self.dilation != 1:
            raise ValueError("pool layers are measured as average pooling, which has no dilation")


def receptive_field(layers: list[Layer]) -> tuple[int, int, float]:
    """(r, j, c): receptive field size, jump and centre of output pixel 0, in input pixels.

    Index input pixels 0 … n − 1 and start from the input itself: r₀ = 1, j₀ = 1,
    c₀ = 0. Output pixel i of layer l reads its input at i·s − p + m·d,
    m = 0 … k − 1. Neighbouring pixels of layer l − 1 are j_{l−1} input pixels
    apart and each sees r_{l−1} of them, so the union of the k taps spans::

        r_l = r_{l−1} + (k_l − 1) d_l j_{l−1}
        j_l = j_{l−1} s_l
        c_l = c_{l−1} + ((k_l − 1) d_l / 2 − p_l) j_{l−1}

    and output pixel i of the last layer is centred at c + i·j. r counts the span
    from the first to the last pixel that can influence the output; with
    dilation some pixels inside the span do not.
    """
    rf, jump, centre = 1, 1, 0.0
    for layer in layers:
        taps = (layer.kernel - 1) * layer.dilation
        centre += (taps / 2 - layer.padding) * jump
        rf += taps * jump
        jump *= layer.stride
    return rf, jump, centre


def ones_model(layers: list[Layer]) -> nn.Sequential:
    """The stack with one channel, all-ones kernels and no bias (float64).

    Every path from an input pixel to an output pixel then carries a positive
    weight, so a gradient entry is non-zero exactly where the pixel can influence
    the output — no cancellation can hide part of the field. A pool layer becomes
    ``AvgPool2d`` (positive weights 1/k² on the whole window; max pooling would
    route the gradient to a single tap).
    """
    modules: list[nn.Module] = []
    for layer in layers:
        geometry = dict(kernel_size=layer.kernel, stride=layer.stride, padding=layer.padding)
        if layer.kind == "pool":
            modules.append(nn.AvgPool2d(**geometry))
            continue
        conv = nn.Conv2d(1, 1, dilation=layer.dilation, bias=False, **geometry)
        nn.init.ones_(conv.weight)
        modules.append(conv)
    return nn.Sequential(*modules).double()


@dataclass(frozen=True)
class EmpiricalField:
    """Where ∂y[i, j] / ∂x is non-zero: its span and centre per axis, and the map itself."""

    size: tuple[int, int]
    centre: tuple[float, float]
    output_index: tuple[int, int]
    touches_border: bool
    gradient: np.ndarray


def empirical_receptive_field(
    model: nn.Module, input_size: int, output_index: tuple[int, int] | None = None
) -> EmpiricalField:
    """Back-propagate one output pixel (the central one by default) to a square input."""
    x = torch.ones(1, 1, input_size, input_size, dtype=torch.float64, requires_grad=True)
    y = model(x)  # (1, 1, H_out, W_out)
    i, j = output_index or (y.shape[2] // 2, y.shape[3] // 2)
    y[0, 0, i, j].backward()
    gradient = x.grad[0, 0].numpy()
    rows, cols = np.nonzero(gradient)
    if len(rows) == 0:
        raise ValueError("the output pixel does not depend on the input")
    first, last = (rows.min(), cols.min()), (rows.max(), cols.max())
    return EmpiricalField(
        size=(int(last[0] - first[0] + 1), int(last[1] - first[1] + 1)),
        centre=((first[0] + last[0]) / 2, (first[1] + last[1]) / 2),
        output_index=(int(i), int(j)),
        touches_border=bool(min(first) == 0 or max(last) == input_size - 1),
        gradient=gradient,
    )


def safe_input_size(layers: list[Layer]) -> int:
    """An input side long enough that the central output pixel's field lies inside it.

    B = (∏ s)(1 + Σ (k − 1)d) bounds r, the jump and the centre's padding shift
    independently of :func:`receptive_field`; 4B + 8 leaves room on both sides.
    """
    bound = math.prod(layer.stride for layer in layers) * (
        1 + sum((layer.kernel - 1) * layer.dilation for layer in layers)
    )
    return 4 * bound + 8


# ---------------------------------------------------------------- separable convolutions


@dataclass(frozen=True)
class ConvCost:
    """Weights and multiply-adds (one multiplication plus one addition) of a layer."""

    params: int
    macs: int


def standard_cost(c_in: int, c_out: int, k: int, h: int, w: int) -> ConvCost:
    """k×k convolution, no bias, output h×w: params k²·c_in·c_out; MACs params·h·w.

    Each of the c_out·h·w outputs is a dot product over a k×k×c_in window.
    """
    params = k * k * c_in * c_out
    return ConvCost(params, params * h * w)


def separable_cost(c_in: int, c_out: int, k: int, h: int, w: int) -> ConvCost:
    """Depthwise k×k (one filter per input channel) then pointwise 1×1, no bias, output h×w.

    params = k²·c_in (depthwise) + c_in·c_out (pointwise), MACs = params·h·w, so
    separable / standard = (k² c_in + c_in c_out) / (k² c_in c_out) = 1/c_out + 1/k²
    for both counts (:func:`separable_ratio`): a 3×3 layer with 256 outputs costs
    about 1/9 + 1/256 ≈ 0.115 of the standard one.
    """
    params = k * k * c_in + c_in * c_out
    return ConvCost(params, params * h * w)


def separable_ratio(c_out: int, k: int) -> float:
    """separable / standard cost = 1/c_out + 1/k² (independent of c_in, h and w)."""
    return 1.0 / c_out + 1.0 / k**2


def standard_conv(c_in: int, c_out: int, k: int) -> nn.Conv2d:
    """k×k convolution, stride 1, 'same' padding for odd k, no bias."""
    return nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False)


def separable_conv(c_in: int, c_out: int, k: int) -> nn.Sequential:
    """Depthwise k×k convolution (groups = c_in) followed by a pointwise 1×1, no bias."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, k, padding=k // 2, groups=c_in, bias=False),
        nn.Conv2d(c_in, c_out, 1, bias=False),
    )


def count_params(module: nn.Module) -> int:
    """Number of weights stored in the module's parameters."""
    return sum(p.numel() for p in module.parameters())


def count_macs(module: nn.Module, x: torch.Tensor) -> int:
    """Multiply-adds of every ``nn.Conv2d`` in one forward pass of x, by forward hooks.

    Each output element is a dot product with one filter, weight[o] of shape
    (c_in / groups, k_h, k_w), so a layer costs (outputs produced) × (taps per
    filter) — both read from the actual tensors, not from the formulas above.
    """
    total = 0

    def hook(layer: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * layer.weight[0].numel()

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
    return total
