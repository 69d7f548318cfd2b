"""2-D convolution and transposed convolution written out in NumPy.

Both follow PyTorch's conventions (cross-correlation, NCHW layout, groups) so that
they can be compared with ``torch.nn.functional.conv2d`` / ``conv_transpose2d``.

Convolution (stride s, padding p, dilation d, per axis)::

    y[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x_pad[n, g(o)·C_g + c, i·s + a·d, j·s + b·d]

where x_pad is x with p zeros on every side and the group g(o) = o // (C_out / groups)
restricts c to C_g = C_in / groups input channels. The loop below runs over the
k_h·k_w kernel taps; for each tap the pixels it touches form a strided slice of
x_pad, so one tap is one matrix product over the channels.

The transposed convolution is the adjoint of that map: ⟨conv(x), y⟩ = ⟨x, conv_T(y)⟩.
Where the convolution *gathers* x_pad[i·s + a·d] into y[i], its transpose *scatters*
y[i] back into the same place, so each tap adds a strided slice::

    z_full[n, c, i·s + a·d, j·s + b·d] += Σ_o w[c, o, a, b] · y[n, o, i, j]

and the p padding rows and columns the convolution added are cut off again;
``output_padding`` keeps extra rows/columns on the bottom/right.
"""

from __future__ import annotations

import numpy as np

Pair = tuple[int, int]


def _pair(v: int | Pair) -> Pair:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> np.ndarray:
    """x (N, C_in, H, W), w (C_out, C_in / groups, k_h, k_w) → (N, C_out, H_out, W_out)."""
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    n, c_in, h, wd = x.shape
    c_out, c_group, kh, kw = w.shape
    if c_in != c_group * groups or c_out % groups:
        raise ValueError(f"channels {c_in} → {c_out} do not split into {groups} groups")
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    x_g = x_pad.reshape(n, groups, c_group, *x_pad.shape[2:])  # (N, G, C_g, H_pad, W_pad)
    w_g = w.reshape(groups, c_out // groups, c_group, kh, kw)  # (G, O_g, C_g, k_h, k_w)
    y = np.zeros((n, groups, c_out // groups, h_out, w_out), dtype=np.result_type(x, w))
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (w_out - 1) + 1, sw)
            patch = x_g[:, :, :, rows, cols]  # (N, G, C_g, H_out, W_out)
            y += np.einsum("goc,ngcij->ngoij", w_g[:, :, :, a, b], patch)
    return y.reshape(n, c_out, h_out, w_out)


def conv_transpose2d(
    y: np.ndarray,
    w: np.ndarray,
    stride: int | Pair = 1,
    padding: int | Pair = 0,
    output_padding: int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> np.ndarray:
    """y (N, C_in, H, W), w (C_in, C_out / groups, k_h, k_w) → (N, C_out, H_out, W_out).

    H_out = (H − 1)s − 2p + d(k − 1) + output_padding + 1, as ``conv_transpose_out``.
    """
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    (oh, ow) = _pair(output_padding)
    n, c_in, h, wd = y.shape
    _, c_group_out, kh, kw = w.shape
    if c_in % groups:
        raise ValueError(f"{c_in} input channels do not split into {groups} groups")
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oh
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + ow
    y_g = y.reshape(n, groups, c_in // groups, h, wd)  # (N, G, I_g, H, W)
    w_g = w.reshape(groups, c_in // groups, c_group_out, kh, kw)  # (G, I_g, O_g, k_h, k_w)
    z = np.zeros((n, groups, c_group_out, full_h, full_w), dtype=np.result_type(y, w))
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (h - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (wd - 1) + 1, sw)
            z[:, :, :, rows, cols] += np.einsum("gio,ngihw->ngohw", w_g[:, :, :, a, b], y_g)
    h_out, w_out = full_h - 2 * ph, full_w - 2 * pw
    z = z.reshape(n, groups * c_group_out, full_h, full_w)
    return z[:, :, ph : ph + h_out, pw : pw + w_out]
