"""s1.logreg: wall time of our Newton and SGD fits against scikit-learn's lbfgs.

Median of 5 fits each on the milestone's standardised data (breast-cancer, and the
Titanic features when pulled), C = 1, BLAS single-threaded for both sides; SGD
uses the milestone's quick settings. ``ratio`` = ours / sklearn.
"""

from __future__ import annotations

from typing import Any

from ai_roadmap.config import compose
from ai_roadmap.datasets import is_pulled
from ai_roadmap.foundations.logreg import LogisticRegression
from ai_roadmap.foundations.logreg_reference import (
    DATASETS,
    max_abs_diff,
    sklearn_model,
    timed_fit,
)

REPEATS = 5


def run() -> list[dict[str, Any]]:
    cfg = compose("s1.logreg", "quick")
    knobs = {key: value for key, value in cfg.sgd.items() if key != "seeds"}
    makers = {
        "newton": lambda: LogisticRegression(C=float(cfg.C), **cfg.newton),
        "sgd": lambda: LogisticRegression(C=float(cfg.C), solver="sgd", random_state=0, **knobs),
    }
    rows = []
    for name, features in DATASETS.items():
        if name == "titanic" and not is_pulled("titanic"):
            continue
        X, y = features()
        reference, sklearn_s = timed_fit(lambda: sklearn_model(float(cfg.C)), X, y, REPEATS)
        for solver, make in makers.items():
            model, ours_s = timed_fit(make, X, y, REPEATS)
            rows.append(
                {
                    "name": f"logreg_{solver}_{name}",
                    "dataset": f"{name} {X.shape[0]}x{X.shape[1]}",
                    "solver": solver,
                    "ours_s": ours_s,
                    "sklearn_s": sklearn_s,
                    "ratio": ours_s / sklearn_s,
                    "max_abs_weight_diff": max_abs_diff(model, reference),
                }
            )
    return rows
