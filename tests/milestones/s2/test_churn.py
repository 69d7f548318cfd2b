"""s2.churn at smoke scale, called directly, on the pulled Telco table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ai_roadmap.artifacts import CARD_FILE, load_model
from ai_roadmap.classic.churn import auc_lift_pct, gini_lift_pct
from ai_roadmap.config import compose
from ai_roadmap.datasets.churn import load_telco
from ai_roadmap.milestones.s2.churn import run

pytestmark = [pytest.mark.data, pytest.mark.slow]

METRICS = {
    "auc_lift_pct",
    "gini_lift_pct",
    "baseline_auc",
    "lgbm_auc",
    "brier_lgbm",
    "best_threshold",
    "test_f1_at_threshold",
}


def test_smoke_run_reports_lift_and_saves_a_model(
    roadmap_home: Path, data_home: Path, tmp_path: Path
) -> None:
    cfg = compose("s2.churn", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = run(cfg)
    m = result.metrics

    assert set(m) >= METRICS
    assert 0.6 < m["baseline_auc"] < 1 and 0.6 < m["lgbm_auc"] < 1
    assert m["auc_lift_pct"] == pytest.approx(auc_lift_pct(m["lgbm_auc"], m["baseline_auc"]))
    assert m["gini_lift_pct"] == pytest.approx(gini_lift_pct(m["lgbm_auc"], m["baseline_auc"]))
    assert m["auc_lift_pct_ci_low"] <= m["auc_lift_pct"] <= m["auc_lift_pct_ci_high"]
    assert 0 < m["brier_lgbm"] < 0.25 and 0 < m["best_threshold"] < 1
    assert 0 < m["test_f1_at_threshold"] <= 1
    assert m["n_fit"] + m["n_val"] + m["n_test"] == 7043
    assert result.proxy is False and "IBM Telco churn" in result.dataset
    assert any("公司数据集" in note for note in result.notes)
    for path in result.artifacts.values():
        assert Path(path).is_file() and Path(path).stat().st_size > 0
    contributions = pd.read_csv(result.artifacts["feature_contributions.csv"])
    assert {"feature", "gain", "mean_abs_contribution"} <= set(contributions.columns)
    assert "charges_gap" in set(contributions["feature"])

    assert result.model_path is not None
    card = json.loads((Path(result.model_path) / CARD_FILE).read_text())
    assert card["name"] == "s2.churn" and card["classes"] == [0, 1]
    model, loaded = load_model(Path(result.model_path))
    assert loaded.metrics["lgbm_auc"] == pytest.approx(m["lgbm_auc"])
    frame, _ = load_telco()
    raw = frame.drop(columns="churn")
    assert set(card["input_schema"]) == set(raw.columns)
    rows = raw.iloc[[0, 488, 7042]]  # 488 is one of the unbilled customers (no total_charges)
    assert rows["total_charges"].isna().any()
    proba = model.predict_proba(rows)
    assert proba.shape == (3, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((proba > 0) & (proba < 1)).all()
