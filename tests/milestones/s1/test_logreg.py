"""s1.logreg at smoke scale: breast-cancer only (bundled with scikit-learn), a few seconds.

The run itself is checked three ways: every metric is there, the target figure
meets the roadmap's bar (smoke runs SGD with the same epochs as quick, so it may
not pass by doing less), and the SGD plot is a real PNG in the output folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap.config import compose

pytestmark = [pytest.mark.slow]


def test_smoke_run(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.milestones.s1.logreg import run

    cfg = compose("s1.logreg", "smoke")
    out = tmp_path / "out"
    out.mkdir()
    cfg.output_dir = str(out)
    result = run(cfg)
    m = result.metrics
    for solver in ("newton", "sgd"):
        for prefix in ("max_abs_weight_diff", "fit_seconds", "time_ratio"):
            assert f"{prefix}_{solver}_breast_cancer" in m
    assert m["max_abs_weight_diff"] < 1e-3  # the catalog target
    assert m["max_abs_weight_diff"] == max(
        m["max_abs_weight_diff_newton_breast_cancer"], m["max_abs_weight_diff_sgd_breast_cancer"]
    )
    assert m["max_abs_weight_diff_newton_breast_cancer"] < 2e-6  # lbfgs's own accuracy
    assert m["newton_vs_sklearn_newton_cholesky_breast_cancer"] < 1e-8
    assert 1 <= m["sgd_epochs_under_bar_breast_cancer"] <= cfg.sgd.max_iter
    assert m["fit_seconds_sklearn_breast_cancer"] > 0
    assert result.proxy is False and "breast-cancer" in result.dataset
    png = Path(result.artifacts["sgd_weight_diff.png"])
    assert png.parent == out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5_000
