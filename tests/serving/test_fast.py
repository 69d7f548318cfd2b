"""The fast prediction path against the training pipeline it was compiled from.

Every Titanic passenger (1 309), every House Prices house (2 919) and every Telco
customer (7 043) goes through both; so do records generated from each model card's
schema. Probabilities must agree within 1e-6 and prices within 1e-9 relative: both
paths do the same float64 arithmetic, so the differences seen are rounding (≈ 1e-16
for probabilities, ≈ 1e-14 relative for prices).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ai_roadmap.datasets.titanic import KAGGLE_COLUMNS
from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.fast.compile import Unsupported, compile_model, write_fast_files
from ai_roadmap.serving.fast.runtime import SPEC_FILE, FastModel

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy"
PROBABILITY_TOL = 1e-6
PRICE_RTOL = 1e-9


def as_records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as the service receives them: JSON values, None for a gap."""
    out = []
    for row in frame[columns].to_dict("records"):
        out.append(
            {
                k: None
                if isinstance(v, float) and v != v
                else (v.item() if hasattr(v, "item") else v)
                for k, v in row.items()
            }
        )
    return out


def reference(
    model: Any, records: list[dict[str, Any]], columns: list[str], task: str
) -> np.ndarray:
    """What the service's pipeline path computes: a DataFrame of the records."""
    frame = pd.DataFrame(records, columns=columns)
    return model.predict_proba(frame)[:, 1] if task == "classification" else model.predict(frame)


def assert_same(model: Any, records: list[dict[str, Any]], columns: list[str], task: str) -> None:
    fast = FastModel(*compile_model(model, columns, task))
    got, want = fast.predict(records), reference(model, records, columns, task)
    if task == "classification":
        np.testing.assert_allclose(got, want, rtol=0, atol=PROBABILITY_TOL)
    else:
        np.testing.assert_allclose(got, want, rtol=PRICE_RTOL)


# ── every row of the datasets ────────────────────────────────────────────────────────

TITANIC_INPUTS = list(KAGGLE_COLUMNS)  # what the service takes: the Kaggle columns


@pytest.fixture(scope="module")
def titanic() -> Any:
    from ai_roadmap.datasets.titanic import load_titanic

    return load_titanic()


@pytest.mark.data
@pytest.mark.parametrize(
    ("spec", "group_by"),
    [
        ({"kind": "logistic_regression", "C": 0.5, "max_iter": 2000}, "ticket+family"),
        ({"kind": "random_forest", "n_estimators": 25, "max_depth": 6}, "ticket"),
        ({"kind": "gradient_boosting", "n_estimators": 30, "max_depth": 3}, "ticket+family"),
        ({"kind": "woman_child_group"}, "ticket+family"),
        ({"kind": "logistic_regression", "C": 1.0, "max_iter": 2000}, "none"),
    ],
    ids=["logreg", "forest", "boosting", "woman-child-group", "logreg-no-groups"],
)
def test_every_titanic_passenger(titanic: Any, spec: dict[str, Any], group_by: str) -> None:
    from ai_roadmap.classic.titanic import build_model, build_pipeline

    if spec["kind"] == "woman_child_group" and group_by == "none":
        pytest.fail("the rule needs the group features")
    model = build_pipeline(build_model(spec, seed=0), group_by=group_by, exclude=("Deck",))
    model.fit(titanic.train[TITANIC_INPUTS], titanic.train["Survived"])
    everyone = pd.concat([titanic.train, titanic.test], ignore_index=True)
    assert len(everyone) == 1309
    records = as_records(everyone, TITANIC_INPUTS)
    if spec["kind"] == "woman_child_group":  # a 0/1 rule: compare predict, not probabilities
        fast = FastModel(*compile_model(model, TITANIC_INPUTS, "classification"))
        want = model.predict(pd.DataFrame(records, columns=TITANIC_INPUTS))
        np.testing.assert_array_equal(fast.predict(records), want)
        return
    assert_same(model, records, TITANIC_INPUTS, "classification")


@pytest.mark.data
def test_every_house(tmp_path: Path) -> None:
    from sklearn.compose import TransformedTargetRegressor

    from ai_roadmap.classic.house import FeatureOptions, build_ensemble, build_log_pipeline
    from ai_roadmap.classic.house_features import DropTrainingOutliers
    from ai_roadmap.datasets.house import load_house_prices

    data = load_house_prices()
    members = {
        "lasso": build_log_pipeline({"kind": "lasso", "alpha": 5e-4}, 0, FeatureOptions()),
        "svr": build_log_pipeline({"kind": "svr", "C": 10.0, "epsilon": 0.01}, 0, FeatureOptions()),
        "lgbm": build_log_pipeline(
            {"kind": "lgbm", "n_estimators": 60, "num_leaves": 8}, 0, FeatureOptions()
        ),
    }
    blend = build_ensemble(members, {"lasso": 0.4, "svr": 0.3, "lgbm": 0.3})
    model = DropTrainingOutliers(
        TransformedTargetRegressor(blend, func=np.log1p, inverse_func=np.expm1, check_inverse=False)
    )
    inputs = [c for c in data.train.columns if c not in ("Id", "SalePrice")]
    model.fit(data.train[inputs], data.train["SalePrice"])
    every = pd.concat([data.train[inputs], data.test[inputs]], ignore_index=True)
    assert len(every) == 2919
    assert_same(model, as_records(every, inputs), inputs, "regression")


@pytest.mark.data
def test_every_telco_customer() -> None:
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    from ai_roadmap.classic.churn_features import LABEL, ChurnFeatures, build_full_logreg
    from ai_roadmap.datasets.churn import load_telco

    frame, _ = load_telco()
    inputs = [c for c in frame.columns if c != LABEL]
    y = frame[LABEL].to_numpy()
    features = ChurnFeatures().fit(frame[inputs])
    lgbm = LGBMClassifier(
        n_estimators=80, num_leaves=31, min_child_samples=40, verbose=-1, random_state=0
    )
    lgbm.fit(features.transform(frame[inputs]), y)
    records = as_records(frame, inputs)
    assert len(records) == 7043
    assert_same(
        Pipeline([("features", features), ("lgbm", lgbm)]), records, inputs, "classification"
    )
    assert_same(build_full_logreg().fit(frame[inputs], y), records, inputs, "classification")


# ── generated records, on the models saved by earlier versions ───────────────────────


def _value(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = spec["type"]
    if kind == "integer":
        base: st.SearchStrategy[Any] = st.integers(
            int(np.ceil(spec["min"])), int(np.floor(spec["max"]))
        )
    elif kind == "number":
        base = st.floats(spec["min"], spec["max"], allow_nan=False)
    elif kind == "category":
        base = st.sampled_from(spec["categories"])
    else:
        base = st.text(st.sampled_from(list("abc, .MrsMiss()1234")), max_size=24)
    return st.one_of(st.none(), base) if spec.get("nullable") else base


def _records(card: Any) -> st.SearchStrategy[list[dict[str, Any]]]:
    record = st.fixed_dictionaries({k: _value(v) for k, v in card.input_schema.items()})
    return st.lists(record, min_size=1, max_size=8)


@pytest.mark.parametrize("item_id", ["s0.titanic", "s2.churn", "s2.house"])
def test_generated_records(item_id: str) -> None:
    from ai_roadmap.artifacts import load_model

    model, card = load_model(LEGACY / item_id / "model")
    columns = list(card.input_schema)
    fast = FastModel(*compile_model(model, columns, card.task))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_records(card))
    def check(records: list[dict[str, Any]]) -> None:
        if item_id == "s0.titanic":
            for r in records:  # a real passenger: class 1-3, counts and fare ≥ 0
                r.update(Pclass=1 + abs(r["Pclass"]) % 3, Fare=abs(r["Fare"]))
                r.update(SibSp=abs(r["SibSp"]), Parch=abs(r["Parch"]))
        try:
            want = reference(model, records, columns, card.task)
        except ValueError:  # the pipeline itself cannot score it (e.g. a feature of ±inf)
            assume(False)
        got = fast.predict(records)
        if card.task == "classification":
            np.testing.assert_allclose(got, want, rtol=0, atol=PROBABILITY_TOL)
        else:
            np.testing.assert_allclose(got, want, rtol=PRICE_RTOL)

    check()


# ── files and refusals ───────────────────────────────────────────────────────────────


def test_files_round_trip_and_a_broken_file_is_refused(tmp_path: Path) -> None:
    from ai_roadmap.artifacts import load_model

    model, card = load_model(LEGACY / "s0.titanic" / "model")
    columns = list(card.input_schema)
    write_fast_files(model, columns, card.task, tmp_path)
    records = as_records(pd.read_parquet(LEGACY / "s0.titanic" / "inputs.parquet"), columns)
    np.testing.assert_allclose(
        FastModel.load(tmp_path).predict(records),
        reference(model, records, columns, card.task),
        atol=1e-12,
    )
    (tmp_path / SPEC_FILE).write_text("{not json")
    with pytest.raises(RoadmapError, match="export the model again"):
        FastModel.load(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_model_without_a_fast_path_is_named() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    from ai_roadmap.classic.titanic import build_pipeline

    model = build_pipeline(KNeighborsClassifier(), group_by="none")
    model.fit(pd.read_parquet(LEGACY / "s0.titanic" / "inputs.parquet"), np.arange(40) % 2)
    with pytest.raises(Unsupported, match="KNeighborsClassifier"):
        compile_model(model, TITANIC_INPUTS, "classification")


def test_the_service_answers_the_same_on_both_paths(tmp_path: Path) -> None:
    """Legacy Titanic model served with and without its fast files: the same answers."""
    import shutil

    from fastapi.testclient import TestClient

    from ai_roadmap.serving.app import create_app
    from ai_roadmap.serving.fast.compile import export_fast_path
    from ai_roadmap.settings import Settings

    records = as_records(pd.read_parquet(LEGACY / "s0.titanic" / "inputs.parquet"), TITANIC_INPUTS)
    answers = {}
    for path in ("fast", "pipeline"):
        root = tmp_path / path
        shutil.copytree(LEGACY / "s0.titanic" / "model", root / "titanic")
        if path == "fast":
            assert export_fast_path(root / "titanic") == "fast"
        settings = Settings(serve_model_dir=root, serve_models="titanic")
        with TestClient(create_app(settings)) as client:
            body = client.post("/v1/titanic/predict/batch", json={"records": records}).json()
            answers[path] = [p["probability"] for p in body["predictions"]]
    np.testing.assert_allclose(answers["fast"], answers["pipeline"], rtol=0, atol=1e-12)


def test_the_service_needs_neither_pandas_nor_scikit_learn(tmp_path: Path) -> None:
    """What the image holds: the app starts and predicts with those imports made impossible."""
    import shutil
    import subprocess
    import sys

    from ai_roadmap.serving.fast.compile import export_fast_path

    shutil.copytree(LEGACY / "s0.titanic" / "model", tmp_path / "titanic")
    export_fast_path(tmp_path / "titanic")
    record = as_records(pd.read_parquet(LEGACY / "s0.titanic" / "inputs.parquet"), TITANIC_INPUTS)[
        0
    ]
    script = f"""
import sys
for name in ("pandas", "sklearn", "scipy", "lightgbm", "joblib"):
    sys.modules[name] = None  # any import of them raises ImportError
from fastapi.testclient import TestClient
from ai_roadmap.serving.app import create_app
from ai_roadmap.settings import Settings
settings = Settings(serve_model_dir={str(tmp_path)!r}, serve_models="titanic")
with TestClient(create_app(settings)) as client:
    answer = client.post("/v1/titanic/predict", json={record!r})
    assert answer.status_code == 200, answer.text
    print(answer.json()["probability"])
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    from ai_roadmap.artifacts import load_model

    model, _ = load_model(LEGACY / "s0.titanic" / "model")
    want = model.predict_proba(pd.DataFrame([record], columns=TITANIC_INPUTS))[0, 1]
    assert abs(float(done.stdout.strip().splitlines()[-1]) - want) < 1e-9  # after the log line
