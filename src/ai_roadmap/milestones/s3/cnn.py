"""s3.cnn — convolution arithmetic, receptive fields and separable convolutions, as checks.

Each check (from :mod:`~ai_roadmap.deep.conv_checks`) puts a formula or a from-scratch
routine beside what PyTorch actually does and returns a
:class:`~ai_roadmap.checks.CheckRecord`:

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

Two figures: the measured receptive field of two example stacks with the formula's
box, and the counted separable/standard cost ratios against c_out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.deep import conv_arith as ca
from ai_roadmap.deep.conv_checks import (
    SeparableGrid,
    check_conv_sizes,
    check_conv_transpose_sizes,
    check_numpy_conv,
    check_pool_sizes,
    check_receptive_field,
    check_separable,
    check_transpose_adjoint,
    counted_costs,
    separable_grid,
)
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

if TYPE_CHECKING:
    from omegaconf import DictConfig

# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Sizes:
    """The output-size checks."""

    configs: int = 1000  # random 2-D configurations per layer type (conv, conv_T, max/avg pool)
    max_input: int = 40  # input side drawn from [1, max_input] per axis


@dataclass(frozen=True)
class NumpyConv:
    """The NumPy convolutions against torch."""

    configs: int = 40  # random grouped / strided / dilated layers
    tolerance: float = 1e-10  # max |ours − torch| in float64 (and the adjoint's relative gap)


@dataclass(frozen=True)
class ReceptiveField:
    """The random conv/pool stacks whose receptive field is measured."""

    stacks: int = 100
    max_layers: int = 5
    max_stride: int = 8  # product of the strides in a stack


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s3.cnn``."""

    seed: int = 0
    threads: int = 1  # torch CPU threads while the milestone runs (restored after)
    sizes: Sizes = field(default_factory=Sizes)
    numpy_conv: NumpyConv = field(default_factory=NumpyConv)
    receptive_field: ReceptiveField = field(default_factory=ReceptiveField)
    separable: SeparableGrid = field(default_factory=SeparableGrid)


# ---------------------------------------------------------------- plots


def plot_receptive_fields(stacks: dict[str, list[ca.Layer]], path: Path) -> Path:
    """The gradient of one output pixel over the input, with the formula's r × r box."""
    from matplotlib.patches import Rectangle

    size = (5.5 * len(stacks), 5.2)
    with figure(path, ncols=len(stacks), figsize=size, dpi=100) as (fig, axes):
        for ax, (title, layers) in zip(np.atleast_1d(axes), stacks.items(), strict=True):
            rf, jump, start = ca.receptive_field(layers)
            measured = ca.empirical_receptive_field(
                ca.ones_model(layers), ca.safe_input_size(layers)
            )
            ci, cj = (start + i * jump for i in measured.output_index)
            half = rf // 2 + 4
            rows = slice(int(ci) - half, int(ci) + half + 2)
            cols = slice(int(cj) - half, int(cj) + half + 2)
            crop = measured.gradient[rows, cols]
            extent = (cols.start - 0.5, cols.stop - 0.5, rows.stop - 0.5, rows.start - 0.5)
            shown = np.where(crop > 0, np.log10(np.maximum(crop, 1e-300)), np.nan)
            image = ax.imshow(shown, extent=extent, cmap="viridis")
            box = Rectangle(
                (cj - rf / 2, ci - rf / 2), rf, rf, fill=False, ec="red", lw=1.5,
                label="formula r × r",
            )  # fmt: skip
            ax.add_patch(box)
            h, w = measured.size
            ax.set_title(f"{title}\nr = {rf}, jump {jump}; measured {h} × {w}")
            ax.set(xlabel="input column", ylabel="input row")
            ax.legend(loc="upper right", fontsize=8)
            fig.colorbar(image, ax=ax, shrink=0.8, label="log10 ∂y/∂x (all-ones weights)")
    return path


def plot_separable(cfg: SeparableGrid, path: Path) -> Path:
    """Counted separable/standard cost ratios against c_out, with 1/c_out + 1/k²."""
    c_in, grid = cfg.c_in[0], np.geomspace(min(cfg.c_out), max(cfg.c_out), 100)
    c_out = list(cfg.c_out)
    with figure(path, figsize=(7, 4.5), dpi=100) as (_, ax):
        for k in cfg.kernels:
            (line,) = ax.loglog(grid, 1 / grid + 1 / k**2, label=f"1/c_out + 1/{k}²")
            counted = [counted_costs(c_in, c, k, cfg.spatial) for c in c_out]
            ratios = [s.params / d.params for d, s in counted]
            ax.loglog(c_out, ratios, "o", color=line.get_color())
            ax.loglog(c_out, [s.macs / d.macs for d, s in counted], "x", ms=9, color="k")
        ax.plot([], [], "o", color="grey", label="counted params ratio")
        ax.plot([], [], "x", color="k", label="counted MACs ratio (hooks)")
        ax.set(xlabel="output channels c_out", ylabel="separable / standard")
        ax.set_title(f"depthwise separable vs standard k×k convolution, c_in = {c_in}")
        ax.legend(fontsize=8)
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


def run_checks(c: Config) -> list[CheckRecord]:
    """Every check with the sizes in ``c``; each gets its own child of ``c.seed``."""
    names = ("conv", "convT", "max", "avg", "np", "npT", "adjoint", "rf")
    seeds = np.random.SeedSequence(c.seed).spawn(len(names))
    rng = {name: np.random.default_rng(s) for name, s in zip(names, seeds, strict=True)}
    sz, npc, rf = c.sizes, c.numpy_conv, c.receptive_field
    jobs: list[Callable[[], CheckRecord | list[CheckRecord]]] = [
        lambda: check_conv_sizes(rng["conv"], sz.configs, sz.max_input),
        lambda: check_conv_transpose_sizes(rng["convT"], sz.configs, sz.max_input),
        lambda: check_pool_sizes(rng["max"], sz.configs, sz.max_input, "max"),
        lambda: check_pool_sizes(rng["avg"], sz.configs, sz.max_input, "avg"),
        lambda: check_numpy_conv(rng["np"], npc.configs, tolerance=npc.tolerance),
        lambda: check_numpy_conv(rng["npT"], npc.configs, True, tolerance=npc.tolerance),
        lambda: check_transpose_adjoint(rng["adjoint"], npc.configs, tolerance=npc.tolerance),
        lambda: check_receptive_field(rng["rf"], rf.stacks, rf.max_layers, rf.max_stride),
        lambda: check_separable(c.separable),
    ]
    records: list[CheckRecord] = []
    for job in jobs:
        started = time.perf_counter()
        done = job()
        batch = done if isinstance(done, list) else [done]
        seconds = (time.perf_counter() - started) / len(batch)
        records += [replace(r, seconds=seconds) for r in batch]
    return records


def run(cfg: DictConfig) -> Result:
    """Every check (``checks_failed`` is the target, ≤ 0) and the two figures."""
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with torch_threads(c.threads):  # thousands of tiny layers: one thread is fastest
        records = run_checks(c)
        artifacts = {
            "checks.csv": write_table(records, out / "checks.csv"),
            "receptive_fields.png": plot_receptive_fields(
                EXAMPLE_STACKS, out / "receptive_fields.png"
            ),
            "separable_cost.png": plot_separable(c.separable, out / "separable_cost.png"),
        }
    metrics, notes = summarise(records)
    metrics["configurations_checked"] = float(4 * c.sizes.configs)
    metrics["stacks_checked"] = float(c.receptive_field.stacks)
    metrics["separable_combinations"] = float(len(separable_grid(c.separable)))
    return Result(
        metrics,
        dataset="synthetic (seeded random layer configurations)",
        proxy=False,
        artifacts=artifacts,
        params={"seed": c.seed, "checks": len(records), "torch": torch.__version__},
        notes=notes,
    )
