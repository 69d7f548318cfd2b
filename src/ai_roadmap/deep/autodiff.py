"""A reverse-mode automatic differentiation engine on NumPy arrays.

A :class:`Tensor` holds ``data`` (an array) and, after ``backward()``, ``grad``:
the derivative of one scalar L with respect to every entry, ``grad = ∂L/∂data``,
of the same shape as ``data``. Every op builds its output and, right beside the
forward, a ``_backward`` closure with the op's *vector–Jacobian product*: given
ḡ = ∂L/∂out it adds ∂L/∂x = ḡ · ∂out/∂x to each input x (chain rule). Calling
``backward()`` on L seeds ∂L/∂L = 1 and runs the closures in reverse
topological order, so a node's gradient is complete (summed over every path,
∂L/∂x = Σ_children ∂L/∂c · ∂c/∂x) before it is passed on to its parents.

Broadcasting: ``a + b`` with a of shape (3, 1) and b of shape (4,) copies a
along axis 1 and b along a new leading axis. The derivative of a copy is the sum
of the gradients of its copies, so each input's gradient is summed back down to
its own shape (:func:`unbroadcast`).

Ops: + − × ÷ ** (scalar exponent), ``@`` (batched, broadcasting), ``sum``,
``mean``, ``exp``, ``log``, ``tanh``, ``sigmoid``, ``relu``, ``reshape``,
``transpose``, ``im2col``; built from them: :func:`conv2d`; fused for numerical
stability: :func:`cross_entropy` (softmax + negative log-likelihood). Integer data
becomes float64, and Python-number constants are float64: the engine computes in
float64, the precision its tests compare with torch in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Axis = int | tuple[int, ...] | None


def as_float_array(value: Any) -> np.ndarray:
    """``value`` as a floating-point array (integers become float64)."""
    array = np.asarray(value)
    return array if np.issubdtype(array.dtype, np.floating) else array.astype(np.float64)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    y = broadcast(x) copies x_j to every y_i that maps onto j, hence
    ∂L/∂x_j = Σ_{i ↦ j} ∂L/∂y_i: sum over the prepended axes, and over the axes
    where x has size 1 (keeping them, so the result has x's shape).
    """
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def normalise_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (``None``: every axis)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


class Tensor:
    """An array with a gradient and the op that produced it.

    ``requires_grad=False`` marks a constant (data, labels): it gets no gradient
    and an op whose inputs are all constant records no graph.
    """

    __array_ufunc__ = None  # `ndarray op Tensor` defers to Tensor's reflected op

    def __init__(
        self,
        data: Any,
        requires_grad: bool = True,
        parents: tuple[Tensor, ...] = (),
        op: str = "",
    ) -> None:
        self.data = as_float_array(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad
        self.parents = parents
        self.op = op
        self._backward: Callable[[np.ndarray], None] = lambda grad: None

    # ------------------------------------------------------------ plumbing

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def __repr__(self) -> str:
        return f"Tensor(shape={self.shape}, op={self.op!r}, requires_grad={self.requires_grad})"

    def item(self) -> float:
        return float(self.data)

    def _child(self, data: np.ndarray, parents: tuple[Tensor, ...], op: str) -> Tensor:
        """The output of an op: it needs a gradient when any input does."""
        needs = any(p.requires_grad for p in parents)
        return Tensor(data, requires_grad=needs, parents=parents if needs else (), op=op)

    def _accumulate(self, grad: np.ndarray) -> None:
        """∂L/∂self += grad (a node used twice receives the sum of both paths)."""
        if self.requires_grad:
            self.grad = grad.copy() if self.grad is None else self.grad + grad

    def backward(self, grad: Any = None) -> None:
        """Fill ``.grad`` of every node that ``self`` depends on with ∂self/∂node.

        ``grad`` is the seed ∂L/∂self (ones by default, i.e. L = Σ self). Leaves
        accumulate across calls, like torch: reset them with ``grad = None``.
        """
        order = topological_order(self)
        for node in order:
            if node.parents:  # intermediate gradients start afresh at every call
                node.grad = None
        seed = np.ones_like(self.data) if grad is None else as_float_array(grad)
        self._accumulate(np.broadcast_to(seed, self.shape))
        for node in reversed(order):
            if node.grad is not None and node.parents:
                node._backward(node.grad)

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other: Any) -> Tensor:
        other = as_tensor(other)
        out = self._child(self.data + other.data, (self, other), "+")

        def _backward(grad: np.ndarray) -> None:  # ∂(a + b)/∂a = ∂(a + b)/∂b = 1
            self._accumulate(unbroadcast(grad, self.shape))
            other._accumulate(unbroadcast(grad, other.shape))

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Tensor:
        other = as_tensor(other)
        out = self._child(self.data * other.data, (self, other), "*")

        def _backward(grad: np.ndarray) -> None:  # ∂(ab)/∂a = b, ∂(ab)/∂b = a
            self._accumulate(unbroadcast(grad * other.data, self.shape))
            other._accumulate(unbroadcast(grad * self.data, other.shape))

        out._backward = _backward
        return out

    def __truediv__(self, other: Any) -> Tensor:
        other = as_tensor(other)
        out = self._child(self.data / other.data, (self, other), "/")

        def _backward(grad: np.ndarray) -> None:  # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b²
            self._accumulate(unbroadcast(grad / other.data, self.shape))
            other._accumulate(unbroadcast(-grad * self.data / other.data**2, other.shape))

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Tensor:
        out = self._child(self.data**exponent, (self,), f"**{exponent}")

        def _backward(grad: np.ndarray) -> None:  # ∂(aᵖ)/∂a = p aᵖ⁻¹
            self._accumulate(grad * exponent * self.data ** (exponent - 1))

        out._backward = _backward
        return out

    def __neg__(self) -> Tensor:
        return self * -1.0

    def __sub__(self, other: Any) -> Tensor:
        return self + (-as_tensor(other))

    def __radd__(self, other: Any) -> Tensor:
        return self + other

    def __rmul__(self, other: Any) -> Tensor:
        return self * other

    def __rsub__(self, other: Any) -> Tensor:
        return as_tensor(other) - self

    def __rtruediv__(self, other: Any) -> Tensor:
        return as_tensor(other) / self

    def __rmatmul__(self, other: Any) -> Tensor:
        return as_tensor(other) @ self

    def __matmul__(self, other: Any) -> Tensor:
        """C = A B, batched over leading axes with broadcasting (as ``np.matmul``).

        C_ik = Σ_j A_ij B_jk gives ∂L/∂A = Ḡ Bᵀ and ∂L/∂B = Aᵀ Ḡ per matrix; batch
        axes that were broadcast are summed back (:func:`unbroadcast`). A 1-D
        operand is treated as a row (left) or a column (right) matrix.
        """
        other = as_tensor(other)
        out = self._child(self.data @ other.data, (self, other), "@")

        def _backward(grad: np.ndarray) -> None:
            a = self.data[None, :] if self.ndim == 1 else self.data  # (n,) -> (1, n)
            b = other.data[:, None] if other.ndim == 1 else other.data  # (n,) -> (n, 1)
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            grad = grad.reshape((*batch, a.shape[-2], b.shape[-1]))  # re-insert the 1s
            if self.requires_grad:  # skipped for data: the costliest product of the step
                grad_a = unbroadcast(grad @ np.swapaxes(b, -1, -2), a.shape)
                self._accumulate(grad_a.reshape(self.shape))
            if other.requires_grad:
                grad_b = unbroadcast(np.swapaxes(a, -1, -2) @ grad, b.shape)
                other._accumulate(grad_b.reshape(other.shape))

        out._backward = _backward
        return out

    # ------------------------------------------------------------ reductions

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """y = Σ_axis x; every summed entry gets ∂y/∂x = 1, so ḡ is copied back."""
        axes = normalise_axes(axis, self.ndim)
        out = self._child(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum")

        def _backward(grad: np.ndarray) -> None:
            kept = grad if keepdims else np.expand_dims(grad, axes)  # restore reduced axes
            self._accumulate(np.broadcast_to(kept, self.shape))

        out._backward = _backward
        return out

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Σ_axis x / n, n the number of entries summed."""
        axes = normalise_axes(axis, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axis=axes, keepdims=keepdims) / count

    # ------------------------------------------------------------ elementwise

    def exp(self) -> Tensor:
        out = self._child(np.exp(self.data), (self,), "exp")

        def _backward(grad: np.ndarray) -> None:  # (eˣ)' = eˣ
            self._accumulate(grad * out.data)

        out._backward = _backward
        return out

    def log(self) -> Tensor:
        out = self._child(np.log(self.data), (self,), "log")

        def _backward(grad: np.ndarray) -> None:  # (ln x)' = 1/x
            self._accumulate(grad / self.data)

        out._backward = _backward
        return out

    def tanh(self) -> Tensor:
        out = self._child(np.tanh(self.data), (self,), "tanh")

        def _backward(grad: np.ndarray) -> None:  # tanh' = 1 − tanh²
            self._accumulate(grad * (1.0 - out.data**2))

        out._backward = _backward
        return out

    def sigmoid(self) -> Tensor:
        # σ(x) = 1/(1 + e⁻ˣ) written as exp(−log(1 + e⁻ˣ)): no overflow for x ≪ 0
        out = self._child(np.exp(-np.logaddexp(0.0, -self.data)), (self,), "sigmoid")

        def _backward(grad: np.ndarray) -> None:  # σ' = σ(1 − σ)
            self._accumulate(grad * out.data * (1.0 - out.data))

        out._backward = _backward
        return out

    def relu(self) -> Tensor:
        out = self._child(np.maximum(self.data, 0.0), (self,), "relu")

        def _backward(grad: np.ndarray) -> None:  # 1 where x > 0, else 0 (0 at x = 0, as torch)
            self._accumulate(grad * (self.data > 0))

        out._backward = _backward
        return out

    # ------------------------------------------------------------ shape

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        new_shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        out = self._child(self.data.reshape(new_shape), (self,), "reshape")

        def _backward(grad: np.ndarray) -> None:  # same entries, old shape
            self._accumulate(grad.reshape(self.shape))

        out._backward = _backward
        return out

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute axes (reversed when none are given); the inverse permutation undoes it."""
        flat = tuple(axes[0]) if len(axes) == 1 and not isinstance(axes[0], int) else axes
        order = flat or tuple(reversed(range(self.ndim)))
        out = self._child(self.data.transpose(order), (self,), "transpose")

        def _backward(grad: np.ndarray) -> None:
            self._accumulate(grad.transpose(np.argsort(order)))

        out._backward = _backward
        return out

    @property
    def T(self) -> Tensor:  # NumPy's and torch's name for the reversed transpose
        return self.transpose()

    def im2col(self, kh: int, kw: int, stride: int = 1, padding: int = 0) -> Tensor:
        """Patches of an image batch as columns: (N, C, H, W) -> (N, C·kh·kw, Ho·Wo).

        Column l = (r, c) holds x_pad[n, :, s·r + i, s·c + j] for i < kh, j < kw,
        ordered (C, kh, kw) like a flattened filter, so a convolution becomes one
        matrix product. im2col only copies entries, so its adjoint adds every
        column entry back where it came from (:func:`col2im`).
        """
        cols = im2col(self.data, kh, kw, stride, padding)
        out = self._child(cols, (self,), "im2col")

        def _backward(grad: np.ndarray) -> None:
            self._accumulate(col2im(grad, self.shape, kh, kw, stride, padding))

        out._backward = _backward
        return out


def as_tensor(value: Any) -> Tensor:
    """``value`` itself if it is a Tensor, else a constant Tensor."""
    return value if isinstance(value, Tensor) else Tensor(value, requires_grad=False)


def topological_order(root: Tensor) -> list[Tensor]:
    """Every node ``root`` depends on, each after all of its parents (iterative DFS)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in seen)
    return order


# ---------------------------------------------------------------- convolution


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """⌊(size + 2p − k)/s⌋ + 1 (Dumoulin & Visin, *A guide to convolution arithmetic*)."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    """(N, C, H, W) -> (N, C·kh·kw, Ho·Wo), see :meth:`Tensor.im2col`."""
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))  # (N, C, H', W', kh, kw)
    windows = windows[:, :, ::stride, ::stride][:, :, :ho, :wo]  # (N, C, Ho, Wo, kh, kw)
    # (N, C, Ho, Wo, kh, kw) -> (N, C, kh, kw, Ho, Wo) -> (N, C·kh·kw, Ho·Wo)
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)


def col2im(
    cols: np.ndarray, shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int
) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each column entry back to its pixel.

    ⟨im2col(x), G⟩ = ⟨x, col2im(G)⟩ for all x, G; a pixel inside several patches
    receives the sum of their gradients.
    """
    n, c, h, w = shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    patches = cols.reshape(n, c, kh, kw, ho, wo)  # (N, C·kh·kw, Ho·Wo) -> (N, C, kh, kw, Ho, Wo)
    padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + stride * ho, stride)
            columns = slice(j, j + stride * wo, stride)
            padded[:, :, rows, columns] += patches[:, :, i, j]
    return padded[:, :, padding : padding + h, padding : padding + w]


def conv2d(
    x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0
) -> Tensor:
    """2-D cross-correlation (torch's ``conv2d``) as im2col + one batched matmul.

    y[n, f, r, c] = b_f + Σ_{ch, i, j} w[f, ch, i, j] x_pad[n, ch, s·r + i, s·c + j]
    = (W_flat @ im2col(x))[n, f, r·Wo + c], with W_flat = w.reshape(F, C·kh·kw).
    Its gradients come from the gradients of reshape, matmul, + and im2col.
    """
    n, _, h, w = x.shape
    filters, channels, kh, kw = weight.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    cols = x.im2col(kh, kw, stride, padding)  # (N, C·kh·kw, Ho·Wo)
    out = weight.reshape(filters, channels * kh * kw) @ cols  # (F, K) @ (N, K, L) -> (N, F, L)
    if bias is not None:
        out = out + bias.reshape(1, filters, 1)
    return out.reshape(n, filters, ho, wo)  # (N, F, Ho·Wo) -> (N, F, Ho, Wo)


# ---------------------------------------------------------------- loss


def cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """Mean softmax cross-entropy, one fused op (torch's ``F.cross_entropy``).

    For logits z of row n and label y: ℓ_n = −log softmax(z)_y = logsumexp(z) − z_y,
    computed with z − max z so exp never overflows. L = (1/N) Σ_n ℓ_n and
    ∂L/∂z_nk = (softmax(z_n)_k − [k = y_n]) / N.
    """
    labels = np.asarray(labels)
    n = logits.shape[0]
    shifted = logits.data - logits.data.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, K)
    loss = -log_probs[np.arange(n), labels].mean()
    out = logits._child(np.asarray(loss), (logits,), "cross_entropy")

    def _backward(grad: np.ndarray) -> None:
        delta = np.exp(log_probs)  # softmax
        delta[np.arange(n), labels] -= 1.0
        logits._accumulate(grad * delta / n)

    out._backward = _backward
    return out
