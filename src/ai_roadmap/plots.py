"""One way to make a milestone's figure: open it, draw, and it is saved and closed.

    with figure(out / "loss.png", ncols=2, figsize=(10, 4)) as (fig, (left, right)):
        left.plot(...)

Matplotlib is imported on first use with the non-interactive Agg backend, so a
milestone that plots never needs a display and nothing is imported at start-up.
The figure is closed even when drawing raises, so a failed plot leaks no memory
into the next one; it is written only when the block completes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (for colour maps and other helpers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def figure(
    path: Path,
    nrows: int = 1,
    ncols: int = 1,
    figsize: tuple[float, float] = (6.0, 4.0),
    dpi: int = 110,
    tight: bool = True,
    **subplots: Any,
) -> Iterator[tuple[Any, Any]]:
    """``(fig, axes)`` from ``plt.subplots``; then laid out, saved to ``path`` and closed."""
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, **subplots)
    try:
        yield fig, axes
        if tight:
            fig.tight_layout()
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
