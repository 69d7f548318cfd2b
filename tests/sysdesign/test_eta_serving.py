"""The served ETA model: raw timetable rows in, the median model's delays out, through the
REST service, and clear refusals of impossible dates and clock times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ai_roadmap.artifacts import ModelCard, save_model
from ai_roadmap.serving.app import create_app
from ai_roadmap.settings import Settings
from ai_roadmap.sysdesign import eta as E


def _flights(n: int, seed: int) -> pd.DataFrame:
    """Timetable rows whose delay depends on carrier and departure hour (a learnable signal)."""
    rng = np.random.default_rng(seed)
    dep = rng.integers(5, 22, n) * 100 + rng.choice([0, 15, 30, 45], n)
    block = rng.integers(60, 300, n)
    arr_min = (dep // 100 * 60 + dep % 100 + block) % (24 * 60)
    carrier = rng.choice(["UA", "AA", "B6"], n)
    delay = (dep // 100 - 12) * 2.0 + np.where(carrier == "B6", 15.0, 0.0) + rng.normal(0, 3, n)
    return pd.DataFrame(
        {
            "year": 2013,
            "month": rng.integers(1, 13, n),
            "day": rng.integers(1, 29, n),
            "sched_dep_time": dep,
            "sched_arr_time": arr_min // 60 * 100 + arr_min % 60,
            "carrier": carrier,
            "origin": rng.choice(["EWR", "JFK", "LGA"], n),
            "dest": rng.choice(["ORD", "BOS", "MIA"], n),
            "distance": block * 7,
            "arr_delay": delay,
        }
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[E.EtaModel, pd.DataFrame]:
    train = _flights(3000, 0)
    table = E.schedule_features(train)
    levels = {col: sorted(table[col].unique()) for col in E.CATEGORICAL}
    gbm = E.GbmConfig(n_estimators=60, min_child_samples=20, n_jobs=1)
    median = E.fit_gbm(E.encode(table, levels), table[E.TARGET].to_numpy(), "quantile", gbm, 0.5)
    return E.EtaModel(levels, median), train


def test_served_model_equals_the_median_model_on_engineered_features(
    fitted: tuple[E.EtaModel, pd.DataFrame],
) -> None:
    model, _ = fitted
    rows = _flights(200, 1)
    direct = model.median.predict(E.encode(E.schedule_features(rows), model.levels))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(model.predict(rows[E.REQUEST]), direct)
    # it learned the signal: B6 flights are predicted later than the others at the same hour
    b6 = rows["carrier"] == "B6"
    assert model.predict(rows[E.REQUEST])[b6].mean() > model.predict(rows[E.REQUEST])[~b6].mean()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"month": 2, "day": 30}, "2013-2-30 is not a date"),
        ({"sched_dep_time": 1790}, "sched_dep_time 1790 is not a clock time"),
        ({"sched_arr_time": 2460}, "sched_arr_time 2460 is not a clock time"),
    ],
)
def test_impossible_timetables_are_refused(
    fitted: tuple[E.EtaModel, pd.DataFrame], change: dict[str, int], message: str
) -> None:
    model, _ = fitted
    row = _flights(1, 2)[E.REQUEST].assign(**change)
    with pytest.raises(ValueError, match=message):
        model.predict(row)


def test_request_schema_accepts_any_date_and_the_learned_categories(
    fitted: tuple[E.EtaModel, pd.DataFrame],
) -> None:
    _, train = fitted
    schema = E.request_schema(train)
    assert list(schema) == E.REQUEST
    assert schema["year"]["min"] <= 2026 <= schema["year"]["max"]  # not only the training year
    carrier = {"type": "category", "categories": ["AA", "B6", "UA"], "nullable": False}
    assert schema["carrier"] == carrier


def test_the_service_answers_with_the_models_delay_and_refuses_bad_dates(
    fitted: tuple[E.EtaModel, pd.DataFrame], tmp_path: Path
) -> None:
    model, train = fitted
    card = ModelCard(
        name="s6.sysdesign",
        task="regression",
        target="arr_delay",
        input_schema=E.request_schema(train),
    )
    save_model(model, tmp_path / "eta", card)
    (tmp_path / "eta" / "VERSION").write_text("3\n")
    settings = Settings(serve_model_dir=tmp_path, serve_models="eta")
    row = _flights(1, 3)[E.REQUEST]
    body = {k: (v.item() if hasattr(v, "item") else v) for k, v in row.iloc[0].items()}
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/eta/predict", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["prediction"] == pytest.approx(float(model.predict(row)[0]))
        assert answer.json()["version"] == "3"
        refused = client.post("/v1/eta/predict", json=body | {"month": 4, "day": 31})
        assert refused.status_code == 422
        assert refused.json()["message"] == "2013-4-31 is not a date"
        unknown = client.post("/v1/eta/predict", json=body | {"carrier": "ZZ"})
        assert unknown.status_code == 422
