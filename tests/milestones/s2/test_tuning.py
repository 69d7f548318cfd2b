"""s2.tuning at smoke scale: real LightGBM fits on scikit-learn's breast-cancer set.

One run (a few seconds) checked for the figures the catalog and the report read,
their consistency with the CSVs, and the plot.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap.classic import tuning
from ai_roadmap.config import compose

pytestmark = pytest.mark.slow

METHODS = ("grid", "random", "tpe")


def test_tuning_smoke_run(roadmap_home: Path, tmp_path: Path) -> None:
    cfg = compose("s2.tuning", "smoke")
    cfg.output_dir = str(tmp_path)
    result = tuning.run(cfg)
    m = result.metrics
    for method in METHODS:
        # LightGBM separates breast cancer almost perfectly: any sane trial is far above 0.9
        assert 0.95 < m[f"{method}_best_cv_auc"] <= 1.0
        assert 0.9 < m[f"{method}_test_auc"] <= 1.0
        assert m[f"{method}_seconds"] > 0
    assert m["tpe_best_cv_score_minus_grid"] == m["tpe_best_cv_auc"] - m["grid_best_cv_auc"]
    assert "breast cancer" in result.dataset and result.proxy is False
    assert any(f"Budget {cfg.budget} trials per method" in note for note in result.notes)

    scores = pd.read_csv(tmp_path / "tuning_scores.csv")
    trials = pd.read_csv(tmp_path / "tuning_trials.csv")
    assert list(scores["method"]) == list(METHODS)
    assert len(trials) == 3 * cfg.budget
    for method in METHODS:
        best = trials.loc[trials["method"] == method, "cv_auc"].max()
        assert best == pytest.approx(m[f"{method}_best_cv_auc"], abs=1e-5)
    png = tmp_path / "best_so_far.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(result.artifacts) == {"tuning_scores.csv", "tuning_trials.csv", "best_so_far.png"}
    assert (roadmap_home / "optuna.db").is_file()


@pytest.mark.data
def test_titanic_features_from_the_pulled_data(roadmap_home: Path) -> None:
    data = tuning.load_data("titanic", 0)
    assert data.X.shape == (891, 9) and data.X_test.shape == (418, 9)
    assert set(data.y) == {0, 1} and len(data.y_test) == 418
    # Kaggle's training file: 177 missing ages, nothing else missing but two Embarked (→ 0, 0, 0)
    assert int(pd.isna(data.X[:, 1]).sum()) == 177 and int(pd.isna(data.X).sum()) == 177
    assert int((data.X[:, 6:].sum(axis=1) == 0).sum()) == 2
