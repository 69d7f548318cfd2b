"""s2.tuning: one fold list for all methods, studies named by the experiment, the smoke run.

Where the test is about the run's wiring the scorer is replaced by a cheap
deterministic function of the trial's parameters (each such test runs in about a
second and counts its calls); the smoke run fits real LightGBM models on
scikit-learn's breast-cancer set and checks the figures the catalog and the report
read, their consistency with the CSVs, and the plot.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ai_roadmap.classic import search
from ai_roadmap.config import compose, typed
from ai_roadmap.milestones.s2 import tuning

METHODS = ("grid", "random", "tpe")


def peak_at(params: dict[str, Any]) -> float:
    """A smooth fake score with its maximum at learning_rate 0.05, num_leaves 16."""
    return (
        -((math.log(params["learning_rate"] / 0.05)) ** 2)
        - math.log(params["num_leaves"] / 16) ** 2
    )


def test_all_methods_score_identical_folds(
    roadmap_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[tuple[np.ndarray, np.ndarray]]] = []

    def recording_cv_auc(model: Any, X: np.ndarray, y: np.ndarray, folds: Any) -> float:
        seen.append([(train.copy(), test.copy()) for train, test in folds])
        return peak_at(model[-1].get_params())

    monkeypatch.setattr(search, "cv_auc", recording_cv_auc)
    cfg = compose("s2.tuning", "smoke", ["budget=4"])
    cfg.output_dir = str(tmp_path)
    tuning.run(cfg)

    from sklearn.model_selection import StratifiedKFold

    y = tuning.load_data("breast_cancer", 0).y
    expected = list(StratifiedKFold(3, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    assert len(seen) == 3 * 4  # grid, random, tpe: 4 trials each
    for folds in seen:
        assert len(folds) == 3
        for (train, test), (train0, test0) in zip(folds, expected, strict=True):
            np.testing.assert_array_equal(train, train0)
            np.testing.assert_array_equal(test, test0)
    assert np.array_equal(np.sort(np.concatenate([te for _, te in seen[0]])), np.arange(len(y)))


def test_same_config_resumes_its_study_and_a_changed_one_starts_fresh(
    roadmap_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_cv_auc(model: Any, X: np.ndarray, y: np.ndarray, folds: Any) -> float:
        calls.append(1)
        return peak_at(model[-1].get_params())

    monkeypatch.setattr(search, "cv_auc", fake_cv_auc)

    def run(*overrides: str) -> tuple[dict[str, float], dict[str, Any]]:
        cfg = compose("s2.tuning", "smoke", ["budget=4", *overrides])
        cfg.output_dir = str(tmp_path)
        result = tuning.run(cfg)
        return result.metrics, result.params

    first, params = run()
    assert len(calls) == 12 and params["tpe_new_trials"] == 4
    again, params_again = run()
    assert len(calls) == 12 and params_again["tpe_new_trials"] == 0  # read back, not re-run
    assert {k: v for k, v in again.items() if not k.endswith("_seconds")} == {
        k: v for k, v in first.items() if not k.endswith("_seconds")
    }
    assert params_again["study_base_name"] == params["study_base_name"]
    # any change to what a trial computes, or to the budget, names another study
    data = tuning.load_data("breast_cancer", 0)

    def name(*overrides: str, scale: str = "smoke") -> str:
        cfg = compose("s2.tuning", scale, ["budget=4", *overrides])
        return tuning.default_study_name(typed(cfg, tuning.Config), tuning.config_key(cfg, data))

    assert name() == params["study_base_name"]
    as_smoke = [
        "data=breast_cancer",
        "cv.folds=3",
        "model.n_estimators=30",
        "tpe.n_startup_trials=4",
    ]
    assert name(*as_smoke, scale="quick") == name()  # the scale's name is not hashed
    changed = [
        "seed=1",
        "budget=6",
        "cv.folds=4",
        "model.n_estimators=31",
        "space.reg_lambda.high=9",
    ]
    assert len({name(), *(name(c) for c in changed)}) == 1 + len(changed)
    # the storage and the output folder are not part of the experiment
    assert name("storage=sqlite:///elsewhere.db") == name()


def test_titanic_matrix_encodes_without_learning_anything() -> None:
    frame = pd.DataFrame(
        {
            "Pclass": [3, 1, 2],
            "Sex": ["male", "female", "female"],
            "Age": [22.0, np.nan, 30.0],
            "SibSp": [1, 0, 0],
            "Parch": [0, 0, 2],
            "Fare": [7.25, 71.3, 13.0],
            "Embarked": ["S", "C", None],
        }
    )
    X = tuning.titanic_matrix(frame)
    assert X.shape == (3, 9)
    np.testing.assert_array_equal(X[:, 0], [3, 1, 2])
    assert np.isnan(X[1, 1]) and np.isnan(X).sum() == 1  # Age left for the fold's imputer
    np.testing.assert_array_equal(X[:, 5], [0, 1, 1])  # IsFemale
    np.testing.assert_array_equal(X[:, 6:], [[0, 0, 1], [1, 0, 0], [0, 0, 0]])  # C, Q, S


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.data
def test_titanic_features_from_the_pulled_data(roadmap_home: Path) -> None:
    data = tuning.load_data("titanic", 0)
    assert data.X.shape == (891, 9) and data.X_test.shape == (418, 9)
    assert set(data.y) == {0, 1} and len(data.y_test) == 418
    # Kaggle's training file: 177 missing ages, nothing else missing but two Embarked (→ 0, 0, 0)
    assert int(pd.isna(data.X[:, 1]).sum()) == 177 and int(pd.isna(data.X).sum()) == 177
    assert int((data.X[:, 6:].sum(axis=1) == 0).sum()) == 2
