"""s3.cnn — convolution arithmetic, receptive fields and separable convolutions, as checks.

Each check puts a formula (or a from-scratch routine) beside what PyTorch actually
does and returns a :class:`~ai_roadmap.milestones.s1.theory.CheckRecord`:

- ``conv_sizes``, ``conv_transpose_sizes``, ``max_pool_sizes``, ``avg_pool_sizes``: the
  output-size formulas of :mod:`~ai_roadmap.deep.conv_arith` against the shapes of real
  torch layers on hundreds of random 2-D configurations (every axis with its own kernel,
  stride, padding, dilation, output padding, ceil mode); a configuration whose formula
  gives no output must make torch raise. Error = number of mismatches;
- ``conv2d_numpy``, ``conv_transpose2d_numpy``: the NumPy convolutions of
  :mod:`~ai_roadmap.deep.conv_numpy` against ``F.conv2d`` / ``F.conv_transpose2d``
  (groups, strides, dilation), max |difference| in float64; ``transpose_adjoint``:
  ⟨conv(x), y⟩ = ⟨x, conv_T(y)⟩, relative gap;
- ``receptive_field``: (r, j, c) from the recursion against the field measured by the
  gradient of one output pixel of an all-ones copy of the stack, on random stacks;
- ``separable_params``, ``separable_macs``: the cost formulas against parameters counted
  in real ``nn.Conv2d`` modules and multiply-adds counted by forward hooks;
  ``separable_ratio``: counted separable/standard against 1/c_out + 1/k².
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.deep import conv_arith as ca
from ai_roadmap.deep import conv_numpy as cn
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

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


def separable_grid(cfg: Any) -> list[tuple[int, int, int]]:
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
    cfg: Any, separable: Callable[..., ca.ConvCost] = ca.separable_cost
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


# ---------------------------------------------------------------- plots and the milestone


def plot_receptive_fields(stacks: dict[str, list[ca.Layer]], path: Path) -> Path:
    """The gradient of one output pixel over the input, with the formula's r × r box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(1, len(stacks), figsize=(5.5 * len(stacks), 5.2))
    for ax, (title, layers) in zip(np.atleast_1d(axes), stacks.items(), strict=True):
        rf, jump, start = ca.receptive_field(layers)
        field = ca.empirical_receptive_field(ca.ones_model(layers), ca.safe_input_size(layers))
        ci, cj = (start + i * jump for i in field.output_index)
        half = rf // 2 + 4
        rows = slice(int(ci) - half, int(ci) + half + 2)
        cols = slice(int(cj) - half, int(cj) + half + 2)
        crop = field.gradient[rows, cols]
        extent = (cols.start - 0.5, cols.stop - 0.5, rows.stop - 0.5, rows.start - 0.5)
        shown = np.where(crop > 0, np.log10(np.maximum(crop, 1e-300)), np.nan)
        image = ax.imshow(shown, extent=extent, cmap="viridis")
        box = (cj - rf / 2, ci - rf / 2)
        ax.add_patch(Rectangle(box, rf, rf, fill=False, ec="red", lw=1.5, label="formula r × r"))
        ax.set_title(f"{title}\nr = {rf}, jump {jump}; measured {field.size[0]} × {field.size[1]}")
        ax.set(xlabel="input column", ylabel="input row")
        ax.legend(loc="upper right", fontsize=8)
        fig.colorbar(image, ax=ax, shrink=0.8, label="log10 ∂y/∂x (all-ones weights)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_separable(cfg: Any, path: Path) -> Path:
    """Counted separable/standard cost ratios against c_out, with 1/c_out + 1/k²."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    c_in, grid = cfg.c_in[0], np.geomspace(min(cfg.c_out), max(cfg.c_out), 100)
    for k in cfg.kernels:
        (line,) = ax.loglog(grid, 1 / grid + 1 / k**2, label=f"1/c_out + 1/{k}²")
        counted = [counted_costs(c_in, c, k, cfg.spatial) for c in cfg.c_out]
        ax.loglog(cfg.c_out, [s.params / d.params for d, s in counted], "o", color=line.get_color())
        ax.loglog(cfg.c_out, [s.macs / d.macs for d, s in counted], "x", ms=9, color="k")
    ax.plot([], [], "o", color="grey", label="counted params ratio")
    ax.plot([], [], "x", color="k", label="counted MACs ratio (hooks)")
    ax.set(xlabel="output channels c_out", ylabel="separable / standard")
    ax.set_title(f"depthwise separable vs standard k×k convolution, c_in = {c_in}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


EXAMPLE_STACKS = {
    "VGG-style: 2×(conv3) + pool2/2 + 2×(conv3)": [
        ca.Layer("conv", 3, 1, 1), ca.Layer("conv", 3, 1, 1), ca.Layer("pool", 2, 2),
        ca.Layer("conv", 3, 1, 1), ca.Layer("conv", 3, 1, 1),
    ],
    "dilated: conv3 d1, d2, d4 (stride 1)": [
        ca.Layer("conv", 3, 1, 1, 1), ca.Layer("conv", 3, 1, 2, 2), ca.Layer("conv", 3, 1, 4, 4),
    ],
}  # fmt: skip


def run_checks(cfg: Any) -> list[CheckRecord]:
    """Every check with the sizes in ``cfg``; each gets its own child of ``cfg.seed``."""
    names = ("conv", "convT", "max", "avg", "np", "npT", "adjoint", "rf")
    seeds = np.random.SeedSequence(int(cfg.seed)).spawn(len(names))
    rng = {name: np.random.default_rng(s) for name, s in zip(names, seeds, strict=True)}
    sz, npc, rf = cfg.sizes, cfg.numpy_conv, cfg.receptive_field
    jobs: list[Callable[[], CheckRecord | list[CheckRecord]]] = [
        lambda: check_conv_sizes(rng["conv"], sz.configs, sz.max_input),
        lambda: check_conv_transpose_sizes(rng["convT"], sz.configs, sz.max_input),
        lambda: check_pool_sizes(rng["max"], sz.configs, sz.max_input, "max"),
        lambda: check_pool_sizes(rng["avg"], sz.configs, sz.max_input, "avg"),
        lambda: check_numpy_conv(rng["np"], npc.configs, tolerance=npc.tolerance),
        lambda: check_numpy_conv(rng["npT"], npc.configs, True, tolerance=npc.tolerance),
        lambda: check_transpose_adjoint(rng["adjoint"], npc.configs, tolerance=npc.tolerance),
        lambda: check_receptive_field(rng["rf"], rf.stacks, rf.max_layers, rf.max_stride),
        lambda: check_separable(cfg.separable),
    ]
    records: list[CheckRecord] = []
    for job in jobs:
        started = time.perf_counter()
        done = job()
        batch = done if isinstance(done, list) else [done]
        seconds = (time.perf_counter() - started) / len(batch)
        records += [replace(r, seconds=seconds) for r in batch]
    return records


def run(cfg: Any) -> Result:
    """Every check (``checks_failed`` is the target, ≤ 0) and the two figures."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with torch_threads(int(cfg.threads)):  # thousands of tiny layers: one thread is fastest
        records = run_checks(cfg)
        artifacts = {
            "checks.csv": write_table(records, out / "checks.csv"),
            "receptive_fields.png": plot_receptive_fields(
                EXAMPLE_STACKS, out / "receptive_fields.png"
            ),
            "separable_cost.png": plot_separable(cfg.separable, out / "separable_cost.png"),
        }
    metrics, notes = summarise(records)
    metrics["configurations_checked"] = float(4 * cfg.sizes.configs)
    metrics["stacks_checked"] = float(cfg.receptive_field.stacks)
    metrics["separable_combinations"] = float(len(separable_grid(cfg.separable)))
    return Result(
        metrics,
        dataset="synthetic (seeded random layer configurations)",
        proxy=False,
        artifacts=artifacts,
        params={"seed": int(cfg.seed), "checks": len(records), "torch": torch.__version__},
        notes=notes,
    )
