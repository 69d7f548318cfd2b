"""s3.autodiff: every op of the NumPy engine against ``torch.autograd`` in float64.

Each test runs the same computation through our :class:`Tensor` and through torch
on the same inputs, seeds both with the same upstream gradient, and compares the
forward values and every leaf's gradient within ``ATOL``/``RTOL``. Random graphs
built from the ops (50 seeds) are compared the same way; deliberately wrong
variants (no unbroadcast, col2im that overwrites, softmax without the max shift)
are shown to differ.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ai_roadmap.deep import autodiff as ad
from ai_roadmap.deep.autodiff import Tensor

pytestmark = pytest.mark.reference

ATOL = 1e-8
RTOL = 1e-8

Fn = Callable[..., Any]


def close(ours: np.ndarray, theirs: torch.Tensor) -> None:
    expected = theirs.detach().numpy()
    assert ours.shape == expected.shape, (ours.shape, expected.shape)
    np.testing.assert_allclose(ours, expected, atol=ATOL, rtol=RTOL)


def compare(
    ours_fn: Fn, torch_fn: Fn, arrays: Sequence[np.ndarray], seed: int = 0
) -> tuple[list[Tensor], list[torch.Tensor]]:
    """Run both, backpropagate one random upstream gradient, compare values and grads."""
    ours = [Tensor(a) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out, ref = ours_fn(*ours), torch_fn(*theirs)
    close(out.data, ref)
    upstream = np.random.default_rng(seed).standard_normal(ref.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for mine, leaf in zip(ours, theirs, strict=True):
        if leaf.grad is None:  # a leaf the output does not depend on
            assert mine.grad is None
        else:
            assert mine.grad is not None
            close(mine.grad, leaf.grad)
    return ours, theirs


def normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def positive(*shape: int, seed: int = 0) -> np.ndarray:
    return np.abs(normal(*shape, seed=seed)) + 0.5


# ---------------------------------------------------------------- elementwise

UNARY: dict[str, tuple[Fn, bool]] = {  # name: (op shared by both libraries, needs x > 0)
    "exp": (lambda t: t.exp(), False),
    "log": (lambda t: t.log(), True),
    "tanh": (lambda t: t.tanh(), False),
    "sigmoid": (lambda t: t.sigmoid(), False),
    "relu": (lambda t: t.relu(), False),
    "neg": (lambda t: -t, False),
    "square": (lambda t: t**2, False),
    "cube": (lambda t: t**3, False),
    "sqrt": (lambda t: t**0.5, True),
    "inverse_power": (lambda t: t**-1.5, True),
    "scalar_rsub": (lambda t: 2.0 - t, False),
    "scalar_rdiv": (lambda t: 3.0 / t, True),
    "scalar_affine": (lambda t: 0.5 * t + 1.0 - t / 4.0, False),
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_matches_torch(name: str) -> None:
    fn, needs_positive = UNARY[name]
    x = positive(3, 4, 5) if needs_positive else normal(3, 4, 5)
    compare(fn, fn, [x])


def test_sigmoid_saturates_without_overflow() -> None:
    x = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    with np.errstate(over="raise"):
        compare(lambda t: t.sigmoid(), lambda t: t.sigmoid(), [x])


BROADCAST_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (3, 1)),
    ((), (3, 4)),
    ((1,), (2, 1, 3)),
    ((2, 1, 4), (5, 1)),
]
BINARY: dict[str, Fn] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_broadcasting_binary_op_matches_torch(name: str, shapes: tuple) -> None:
    a, b = normal(*shapes[0], seed=1), positive(*shapes[1], seed=2)
    compare(BINARY[name], BINARY[name], [a, b])


def test_node_used_on_several_paths_sums_their_gradients() -> None:
    def fn(x: Any, y: Any) -> Any:
        h = x * y
        return h * h.tanh() + (h / y) * x.exp() - x

    compare(fn, fn, [normal(3, 4), positive(3, 1, seed=1)])


def test_leaf_gradients_accumulate_over_backward_calls_like_torch() -> None:
    x_np = normal(4)
    x, ref = Tensor(x_np), torch.tensor(x_np, requires_grad=True)
    out, expected = (x * x).sum(), (ref * ref).sum()
    out.backward()
    out.backward()
    expected.backward(retain_graph=True)
    expected.backward()
    assert x.grad is not None
    close(x.grad, ref.grad)


# ---------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((4,), (2, 4, 3)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_matches_torch(shapes: tuple) -> None:
    def fn(a: Any, b: Any) -> Any:
        return a @ b

    compare(fn, fn, [normal(*shapes[0], seed=1), normal(*shapes[1], seed=2)])


def test_constant_operands_get_no_gradient_and_leave_the_others_right() -> None:
    x_np, w_np = normal(5, 4), normal(4, 3, seed=1)
    x, w = Tensor(x_np, requires_grad=False), Tensor(w_np)
    ref = torch.tensor(w_np, requires_grad=True)
    out = np.ones((2, 5)) @ (x @ w).tanh() * np.arange(3.0)  # ndarray on the left
    expected = torch.ones(2, 5, dtype=torch.float64) @ (torch.tensor(x_np) @ ref).tanh()
    expected = expected * torch.arange(3.0, dtype=torch.float64)
    assert isinstance(out, Tensor)
    out.sum().backward()
    expected.sum().backward()
    assert x.grad is None
    close(out.data, expected)
    assert w.grad is not None
    close(w.grad, ref.grad)


# ---------------------------------------------------------------- reductions and shape

REDUCTIONS: dict[str, Fn] = {
    "sum_all": lambda t: t.sum(),
    "sum_axis0": lambda t: t.sum(axis=0),
    "sum_last_keep": lambda t: t.sum(axis=-1, keepdims=True),
    "sum_two_axes": lambda t: t.sum(axis=(0, 2)),
    "sum_two_axes_keep": lambda t: t.sum(axis=(2, 0), keepdims=True),
    "mean_all": lambda t: t.mean(),
    "mean_axis1": lambda t: t.mean(axis=1),
    "mean_two_axes_keep": lambda t: t.mean(axis=(1, 2), keepdims=True),
}


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_matches_torch(name: str) -> None:
    compare(REDUCTIONS[name], REDUCTIONS[name], [normal(2, 3, 4)])


SHAPE_OPS: dict[str, tuple[Fn, Fn]] = {  # name: (ours, torch)
    "reshape_args": (lambda t: t.reshape(4, 6), lambda t: t.reshape(4, 6)),
    "reshape_tuple": (lambda t: t.reshape((6, -1)), lambda t: t.reshape((6, -1))),
    "flatten": (lambda t: t.reshape(-1), lambda t: t.reshape(-1)),
    "transpose_axes": (lambda t: t.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "transpose_tuple": (lambda t: t.transpose((1, 2, 0)), lambda t: t.permute(1, 2, 0)),
    "transpose_reversed": (lambda t: t.transpose(), lambda t: t.permute(2, 1, 0)),
    "matrix_T": (lambda t: t.reshape(6, 4).T, lambda t: t.reshape(6, 4).T),
}


@pytest.mark.parametrize("name", SHAPE_OPS)
def test_shape_op_matches_torch(name: str) -> None:
    ours_fn, torch_fn = SHAPE_OPS[name]
    compare(ours_fn, torch_fn, [normal(2, 3, 4)])


# ---------------------------------------------------------------- convolution

CONV_CASES = [  # (N, C, H, W, F, kh, kw, stride, padding, bias)
    (2, 3, 7, 7, 4, 3, 3, 1, 0, True),
    (2, 3, 8, 8, 4, 3, 3, 2, 1, True),
    (1, 2, 9, 7, 3, 5, 3, 3, 2, False),
    (2, 1, 5, 5, 2, 1, 1, 1, 0, True),
    (3, 2, 6, 6, 2, 2, 2, 2, 0, True),
    (2, 2, 10, 9, 3, 4, 2, 3, 1, True),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matches_torch(case: tuple) -> None:
    n, c, h, w, f, kh, kw, stride, padding, bias = case
    arrays = [normal(n, c, h, w, seed=1), normal(f, c, kh, kw, seed=2)]
    if bias:
        arrays.append(normal(f, seed=3))

    def ours(x: Tensor, weight: Tensor, b: Tensor | None = None) -> Tensor:
        return ad.conv2d(x, weight, b, stride=stride, padding=padding)

    def theirs(x: torch.Tensor, weight: torch.Tensor, b: torch.Tensor | None = None) -> Any:
        return F.conv2d(x, weight, b, stride=stride, padding=padding)

    compare(ours, theirs, arrays)


def test_col2im_is_the_adjoint_of_im2col() -> None:
    shape, kh, kw, stride, padding = (2, 3, 8, 7), 3, 2, 2, 1
    x = normal(*shape)
    cols = ad.im2col(x, kh, kw, stride, padding)
    g = normal(*cols.shape, seed=1)
    lhs = float(np.sum(cols * g))  # ⟨im2col(x), G⟩
    rhs = float(np.sum(x * ad.col2im(g, shape, kh, kw, stride, padding)))  # ⟨x, col2im(G)⟩
    assert abs(lhs - rhs) <= ATOL * max(1.0, abs(lhs))


def test_col2im_that_overwrites_overlapping_patches_is_detected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def overwriting_col2im(cols, shape, kh, kw, stride, padding):  # `=` where `+=` belongs
        n, c, h, w = shape
        ho = ad.conv_output_size(h, kh, stride, padding)
        wo = ad.conv_output_size(w, kw, stride, padding)
        patches = cols.reshape(n, c, kh, kw, ho, wo)
        padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding))
        for i in range(kh):
            for j in range(kw):
                rows, columns = slice(i, i + stride * ho, stride), slice(j, j + stride * wo, stride)
                padded[:, :, rows, columns] = patches[:, :, i, j]
        return padded[:, :, padding : padding + h, padding : padding + w]

    monkeypatch.setattr(ad, "col2im", overwriting_col2im)
    x = normal(1, 2, 6, 6)
    # stride 2 = kernel 2: patches do not overlap and the slip goes unnoticed
    compare(
        lambda x, w: ad.conv2d(x, w, stride=2),
        lambda x, w: F.conv2d(x, w, stride=2),
        [x, normal(3, 2, 2, 2, seed=1)],
    )
    # stride 1 < kernel 3: a pixel lies in several patches and needs their sum
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        compare(ad.conv2d, F.conv2d, [x, normal(3, 2, 3, 3, seed=1)])


# ---------------------------------------------------------------- softmax cross-entropy


@pytest.mark.parametrize("scale", [1.0, 30.0, 1000.0])
def test_cross_entropy_matches_torch(scale: float) -> None:
    labels = np.random.default_rng(5).integers(0, 7, size=9)
    compare(
        lambda z: ad.cross_entropy(z, labels),
        lambda z: F.cross_entropy(z, torch.tensor(labels)),
        [scale * normal(9, 7)],
    )


def naive_cross_entropy(logits: Tensor, labels: np.ndarray) -> Tensor:
    """The same loss composed from the ops, without the max shift."""
    one_hot = np.eye(logits.shape[1])[labels]
    picked = (logits * one_hot).sum(axis=1)  # z_y
    return (logits.exp().sum(axis=1).log() - picked).mean()


def test_cross_entropy_composed_from_ops_agrees_on_moderate_logits() -> None:
    labels = np.random.default_rng(5).integers(0, 7, size=9)
    compare(
        lambda z: naive_cross_entropy(z, labels),
        lambda z: F.cross_entropy(z, torch.tensor(labels)),
        [3.0 * normal(9, 7)],
    )


def test_cross_entropy_without_max_shift_overflows_on_large_logits() -> None:
    labels = np.random.default_rng(5).integers(0, 7, size=9)
    logits = Tensor(1000.0 * normal(9, 7))
    with np.errstate(over="ignore", invalid="ignore"):
        naive = naive_cross_entropy(logits, labels).item()
    fused = ad.cross_entropy(logits, labels).item()
    reference = F.cross_entropy(torch.tensor(logits.data), torch.tensor(labels)).item()
    assert not np.isfinite(naive)
    assert abs(fused - reference) <= ATOL + RTOL * abs(reference)


# ---------------------------------------------------------------- composed graphs


def test_mlp_with_cross_entropy_matches_torch() -> None:
    labels = np.random.default_rng(9).integers(0, 10, size=16)

    def ours(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) -> Tensor:
        return ad.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, labels)

    def theirs(x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        return F.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, torch.tensor(labels))

    shapes = [(16, 20), (20, 12), (12,), (12, 10), (10,)]
    compare(ours, theirs, [normal(*s, seed=i) for i, s in enumerate(shapes)])


def test_small_convnet_matches_torch() -> None:
    labels = np.array([1, 0, 2])

    def net(conv: Fn, loss: Fn, x: Any, k: Any, b: Any, w: Any) -> Any:
        h = conv(x, k, b).tanh()  # (3, 4, 4, 4)
        return loss(h.reshape(3, 64) @ w)

    def ours(*args: Any) -> Any:
        conv = lambda x, k, b: ad.conv2d(x, k, b, stride=2, padding=1)  # noqa: E731
        return net(conv, lambda z: ad.cross_entropy(z, labels), *args)

    def theirs(*args: Any) -> Any:
        conv = lambda x, k, b: F.conv2d(x, k, b, stride=2, padding=1)  # noqa: E731
        return net(conv, lambda z: F.cross_entropy(z, torch.tensor(labels)), *args)

    shapes = [(3, 2, 8, 8), (4, 2, 3, 3), (4,), (64, 3)]
    compare(ours, theirs, [normal(*s, seed=i) for i, s in enumerate(shapes)])


def test_gradient_matches_central_finite_differences() -> None:
    """(f(x + εe_i) − f(x − εe_i)) / 2ε = ∂f/∂x_i + O(ε²), independent of torch."""
    x_np, w_np = normal(5, 4), normal(4, 3, seed=1)

    def loss(x: np.ndarray) -> Tensor:
        return ((Tensor(x) @ Tensor(w_np, requires_grad=False)).tanh() ** 2).mean()

    x = Tensor(x_np)
    ((x @ Tensor(w_np, requires_grad=False)).tanh() ** 2).mean().backward()
    eps, numeric = 1e-5, np.zeros_like(x_np)
    for i in np.ndindex(x_np.shape):
        step = np.zeros_like(x_np)
        step[i] = eps
        numeric[i] = (loss(x_np + step).item() - loss(x_np - step).item()) / (2 * eps)
    np.testing.assert_allclose(x.grad, numeric, atol=1e-9, rtol=1e-6)


# ---------------------------------------------------------------- random graphs

FAMILY = [(3, 4), (1, 4), (4,), (3, 1), ()]  # closed under broadcasting
SHAPE_KEEPING: dict[str, Fn] = {
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "exp_tanh": lambda a: a.tanh().exp(),
    "log1p_square": lambda a: (a * a + 1.0).log(),
    "square_tanh": lambda a: a.tanh() ** 2,
    "sqrt": lambda a: (a * a + 1.0) ** 0.5,
    "affine": lambda a: 0.5 - 1.5 * a,
    "reciprocal": lambda a: 1.0 / (a.sigmoid() + 0.5),
}
BROADCASTING: dict[str, Fn] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b.sigmoid() + 0.5),
}
RESHAPING: dict[str, tuple[tuple[int, ...], Fn]] = {  # name: (input shape, op)
    "sum_rows": ((3, 4), lambda a: a.sum(axis=0, keepdims=True)),
    "mean_cols": ((3, 4), lambda a: a.mean(axis=1, keepdims=True)),
    "mean_rows_drop": ((3, 4), lambda a: a.mean(axis=0)),
    "sum_all": ((4,), lambda a: a.sum()),
    "reshape_transpose": ((3, 4), lambda a: a.reshape(4, 3).transpose(1, 0)),
}
N_LEAVES = 4  # leaves of shapes from FAMILY
MATRICES = (4, 5)  # node indices of the two (4, 4) leaves that `a @ W` uses


def random_program(rng: np.random.Generator, n_steps: int = 12) -> tuple[list, list]:
    """(leaf shapes, steps); a step is (fn, input node indices), its output the next node."""
    shapes = [FAMILY[k] for k in rng.integers(0, len(FAMILY), N_LEAVES)] + [(4, 4), (4, 4)]
    nodes, steps = list(shapes), []
    for _ in range(n_steps):
        pickable = [k for k in range(len(nodes)) if k not in MATRICES]
        i, j = (int(k) for k in rng.choice(pickable, 2))
        kind = int(rng.integers(0, 4))
        fits = [name for name, (shape, _) in RESHAPING.items() if shape == nodes[i]]
        if kind == 0:
            fn, inputs = SHAPE_KEEPING[str(rng.choice(list(SHAPE_KEEPING)))], [i]
        elif kind == 1:
            fn, inputs = BROADCASTING[str(rng.choice(list(BROADCASTING)))], [i, j]
        elif kind == 2 and fits:
            fn, inputs = RESHAPING[str(rng.choice(fits))][1], [i]
        elif kind == 3 and nodes[i] in [(3, 4), (4,)]:
            fn, inputs = (lambda a, w: a @ w), [i, int(rng.choice(MATRICES))]
        else:
            fn, inputs = SHAPE_KEEPING["tanh"], [i]
        steps.append((fn, inputs))
        nodes.append(fn(*[Tensor(np.ones(nodes[k])) for k in inputs]).shape)
    return shapes, steps


def run_program(leaves: list, steps: list, weights: list[float]) -> Any:
    """Evaluate the steps; the output is Σ_k c_k · Σ node_k over the last three nodes."""
    nodes = list(leaves)
    for fn, inputs in steps:
        nodes.append(fn(*[nodes[k] for k in inputs]))
    total = (nodes[-3] * weights[0]).sum()
    for node, weight in zip(nodes[-2:], weights[1:], strict=True):
        total = total + (node * weight).sum()
    return total


@pytest.mark.parametrize("seed", range(50))
def test_random_graph_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shapes, steps = random_program(rng)
    arrays = [rng.standard_normal(s) for s in shapes]
    weights = [float(w) for w in rng.standard_normal(3)]

    def graph(*leaves: Any) -> Any:
        return run_program(list(leaves), steps, weights)

    compare(graph, graph, arrays, seed=seed)


def test_random_programs_use_every_kind_of_op() -> None:
    used = {fn for seed in range(50) for fn, _ in random_program(np.random.default_rng(seed))[1]}
    ops = [*SHAPE_KEEPING.values(), *BROADCASTING.values(), *(f for _, f in RESHAPING.values())]
    assert all(op in used for op in ops)
    assert sum(1 for fn in used if fn not in ops) >= 1  # the matmul lambdas


# ---------------------------------------------------------------- deliberately wrong unbroadcast


def test_gradient_without_unbroadcast_has_the_wrong_shape(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ad, "unbroadcast", lambda grad, shape: grad)
    with pytest.raises(AssertionError, match=r"\(3, 4\), \(3, 1\)"):
        compare(lambda a, b: a * b, lambda a, b: a * b, [normal(3, 1), normal(1, 4, seed=1)])


def test_unbroadcast_that_averages_instead_of_summing_is_detected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def averaging(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        extra = grad.ndim - len(shape)
        grad = grad.mean(axis=tuple(range(extra))) if extra > 0 else grad
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        return grad.mean(axis=axes, keepdims=True) if axes else grad

    monkeypatch.setattr(ad, "unbroadcast", averaging)
    # equal shapes need no reduction: the slip is invisible here
    compare(lambda a, b: a * b, lambda a, b: a * b, [normal(3, 4), normal(3, 4, seed=1)])
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        compare(lambda a, b: a * b, lambda a, b: a * b, [normal(3, 1), normal(1, 4, seed=1)])
