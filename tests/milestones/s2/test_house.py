"""s2.house: the submission file's checks, and a smoke run on the pulled House Prices data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ai_roadmap.artifacts import load_model
from ai_roadmap.config import compose
from ai_roadmap.datasets.house import load_house_prices
from ai_roadmap.milestones.s2.house import run, write_submission

NAN = float("nan")


def test_submission_refuses_bad_prices(tmp_path: Path) -> None:
    ids = pd.Series([1461, 1462])
    write_submission(ids, np.array([1e5, 2e5]), tmp_path / "ok.csv")
    assert (tmp_path / "ok.csv").read_text().splitlines()[0] == "Id,SalePrice"
    for bad in ([1e5, NAN], [1e5, 0.0], [1e5, -3.0]):
        with pytest.raises(ValueError, match="non-positive"):
            write_submission(ids, np.array(bad), tmp_path / "bad.csv")


@pytest.mark.data
@pytest.mark.slow
def test_smoke_run_scores_submits_and_saves_a_servable_model(
    roadmap_home: Path, data_home: Path, tmp_path: Path
) -> None:
    cfg = compose("s2.house", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    Path(cfg.output_dir).mkdir()
    result = run(cfg)

    assert 0.05 < result.metrics["cv_rmsle"] < 0.2
    assert result.metrics["cv_rmsle_std"] >= 0
    assert 0.05 < result.metrics["cv_rmsle_lasso"] < 0.25
    assert 0.05 < result.metrics["cv_rmsle_lgbm"] < 0.25
    assert result.metrics["n_dropped_outliers"] == 2
    assert result.proxy is False and "1 460" in result.dataset
    assert any("outliers" in note for note in result.notes)
    for path in result.artifacts.values():
        assert Path(path).exists()

    data = load_house_prices()
    submission = pd.read_csv(result.artifacts["submission.csv"])
    assert list(submission.columns) == ["Id", "SalePrice"]
    assert submission["Id"].tolist() == data.test["Id"].tolist()
    assert submission["SalePrice"].notna().all() and (submission["SalePrice"] > 0).all()

    cv = pd.read_csv(result.artifacts["cv_results.csv"])
    assert cv["model"].tolist() == ["ensemble", "lasso", "lgbm"]
    assert cv.filter(like="fold_").shape[1] == 3

    assert result.model_path is not None
    model, card = load_model(result.model_path)
    assert card.task == "regression" and card.target == "SalePrice"
    assert set(card.input_schema) == set(data.test.columns) - {"Id"}
    raw = data.test.head(3)
    prices = model.predict(raw)
    assert prices.shape == (3,) and np.all(prices > 10_000) and np.all(prices < 2_000_000)
    np.testing.assert_allclose(prices, submission["SalePrice"].head(3), rtol=1e-9)
    # a served request carries no Id: the same prices without it
    np.testing.assert_allclose(model.predict(raw.drop(columns="Id")), prices, rtol=1e-12)
