"""The two plots of the system-design milestone: Recall@K curves and interval calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ai_roadmap.plots import figure


def plot_recall(curves: dict[str, list[float]], path: Path) -> Path:
    with figure(path) as (_, ax):
        for name, values in curves.items():
            ax.plot(range(1, len(values) + 1), values, label=name.replace("_", " "))
        ax.set(xlabel="K", ylabel="Recall@K (test window)", title="MovieLens retrieval")
        ax.legend()
    return path


def plot_calibration(cal: dict[str, np.ndarray], path: Path) -> Path:
    with figure(path, 1, 2, figsize=(10.0, 4.0)) as (_, (left, right)):
        left.plot(cal["centres"], cal["raw"], "o-", label="q0.1–q0.9")
        left.plot(cal["centres"], cal["conformal"], "s-", label="conformal, one margin (Sep)")
        left.plot(cal["centres"], cal["rolling"], "^-", label="conformal, daily margin")
        left.axhline(0.8, color="grey", linestyle="--", label="nominal 0.8")
        left.set(
            xlabel="predicted median delay, decile mean (min)",
            ylabel="coverage of the 80 % interval",
            title="Interval coverage per decile (test months)",
        )
        left.legend()
        taus = np.array([0.1, 0.5, 0.9])
        right.plot(taus, cal["share_below"], "o-", label="LightGBM quantiles")
        right.plot([0, 1], [0, 1], color="grey", linestyle="--", label="calibrated")
        right.set(xlabel="τ", ylabel="share of delays ≤ q̂_τ", title="Quantile calibration")
        right.legend()
    return path
