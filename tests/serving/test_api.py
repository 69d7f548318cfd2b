"""The REST service through ``TestClient``: exact JSON for every route and every refusal.

Predictions are compared with the saved pipeline called directly on the
training rows the requests were made from, so the JSON round trip (nulls,
integers, a column name starting with a digit) is checked along with routing.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

Records = Callable[[str, int], list[dict[str, Any]]]


def _card(model_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((model_dir / name / "model_card.json").read_text())


def _expected(model_dir: Path, name: str, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, positive-class probability or NaN) from the pipeline on disk."""
    model = joblib.load(model_dir / name / "model.joblib")
    if _card(model_dir, name)["task"] == "classification":
        return model.predict(rows).astype(float), model.predict_proba(rows)[:, 1]
    return model.predict(rows).astype(float), np.full(len(rows), np.nan)


def _metric(text: str, name: str, labels: dict[str, str]) -> float:
    """The value of one sample of the exposition ``text`` (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@pytest.fixture
def lenient(app: FastAPI, client: TestClient) -> TestClient:
    """A client that turns a server error into a 500 response instead of raising it."""
    return TestClient(app, raise_server_exceptions=False)


# ── service routes ───────────────────────────────────────────────────────────


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "models": []}


def test_readyz(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "models": ["titanic", "house", "churn"]}


def test_models_list(client: TestClient, model_dir: Path) -> None:
    response = client.get("/v1/models")
    assert response.status_code == 200
    milestones = {"titanic": "s0.titanic", "house": "s2.house", "churn": "s2.churn"}
    expected = []
    for name, milestone in milestones.items():
        card = _card(model_dir, name)
        expected.append(
            {
                "name": name,
                "milestone": milestone,
                "version": "7",
                "task": card["task"],
                "target": card["target"],
                "sha256": card["sha256"],
                "metrics": card["metrics"],
                "inputs": list(card["input_schema"]),
            }
        )
    assert response.json() == expected
    assert all(len(m["sha256"]) == 64 for m in response.json())


# ── predictions ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize("name", ["titanic", "house", "churn"])
def test_single_prediction_matches_the_pipeline(
    client: TestClient,
    model_dir: Path,
    records: Records,
    training_frames: dict[str, pd.DataFrame],
    name: str,
) -> None:
    (record,) = records(name, 1)
    response = client.post(f"/v1/{name}/predict", json=record)
    assert response.status_code == 200, response.text
    body = response.json()
    prediction, probability = _expected(model_dir, name, training_frames[name].iloc[:1])
    assert set(body) == {"prediction", "probability", "model", "version", "latency_ms"}
    assert body["model"] == name and body["version"] == "7" and body["latency_ms"] >= 0
    assert body["prediction"] == pytest.approx(prediction[0], abs=1e-12)
    if np.isnan(probability[0]):
        assert body["probability"] is None
    else:
        assert body["probability"] == pytest.approx(probability[0], abs=1e-12)


@pytest.mark.parametrize("name", ["titanic", "house", "churn"])
def test_batch_prediction_matches_the_pipeline(
    client: TestClient,
    model_dir: Path,
    records: Records,
    training_frames: dict[str, pd.DataFrame],
    name: str,
) -> None:
    response = client.post(f"/v1/{name}/predict/batch", json={"records": records(name, 8)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == name and body["version"] == "7" and body["latency_ms"] >= 0
    prediction, probability = _expected(model_dir, name, training_frames[name].iloc[:8])
    got = pd.DataFrame(body["predictions"]).astype(float)
    np.testing.assert_allclose(got["prediction"], prediction, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["probability"], probability, rtol=0, atol=1e-12)


def test_null_in_a_nullable_column_is_predicted(client: TestClient, records: Records) -> None:
    record = {**records("titanic", 1)[0], "Age": None, "Embarked": None}
    response = client.post("/v1/titanic/predict", json=record)
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["probability"] <= 1.0


# ── request ids, metrics, access log ─────────────────────────────────────────


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "trace-abc-123"})
    assert given.headers["x-request-id"] == "trace-abc-123"
    made = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    assert made.headers["x-request-id"] != client.get("/healthz").headers["x-request-id"]


def test_metrics_count_requests_and_models(
    client: TestClient, model_dir: Path, records: Records
) -> None:
    labels = {"endpoint": "/v1/titanic/predict", "method": "POST", "status": "200"}
    before = _metric(client.get("/metrics").text, "roadmap_http_requests_total", labels)
    assert client.post("/v1/titanic/predict", json=records("titanic", 1)[0]).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'roadmap_http_requests_total{endpoint="/v1/titanic/predict"' in response.text
    assert _metric(response.text, "roadmap_http_requests_total", labels) == before + 1
    sha = _card(model_dir, "titanic")["sha256"][:12]
    assert 'roadmap_model_info{model="titanic"' in response.text
    info = {"model": "titanic", "version": "7", "sha256": sha}
    assert _metric(response.text, "roadmap_model_info", info) == 1.0
    hist = {"endpoint": "/v1/titanic/predict"}
    assert _metric(response.text, "roadmap_http_request_duration_seconds_count", hist) >= 1


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog on "ai_roadmap.access" (its own stdout handler, propagate=False)."""
    logger = logging.getLogger("ai_roadmap.access")
    attached = caplog.handler not in logger.handlers  # pytest >= 9 attaches it already
    if attached:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        if attached:
            logger.removeHandler(caplog.handler)


def test_one_json_access_log_line_per_request(
    client: TestClient, records: Records, access_log: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Request-ID": "log-line-1"}
    client.post("/v1/titanic/predict", json=records("titanic", 1)[0], headers=headers)
    client.post("/v1/titanic/predict", json={}, headers={"X-Request-ID": "log-line-2"})
    lines = [
        json.loads(r.getMessage()) for r in access_log.records if r.name == "ai_roadmap.access"
    ]
    by_id = {line["request_id"]: line for line in lines}
    assert len(lines) == 2 and set(by_id) == {"log-line-1", "log-line-2"}
    ok, refused = by_id["log-line-1"], by_id["log-line-2"]
    assert ok["path"] == "/v1/titanic/predict" and ok["method"] == "POST"
    assert ok["status"] == 200 and refused["status"] == 422
    assert ok["endpoint"] == "/v1/titanic/predict"
    assert ok["latency_ms"] >= 0 and ok["ts"] > 0


# ── refusals ─────────────────────────────────────────────────────────────────


def _titanic(records: Records, **changes: Any) -> dict[str, Any]:
    record = {**records("titanic", 1)[0], **changes}
    return {k: v for k, v in record.items() if v is not ...}


def test_wrong_type(client: TestClient, records: Records) -> None:
    response = client.post("/v1/titanic/predict", json=_titanic(records, Pclass="three"))
    assert response.status_code == 422
    assert response.json()["message"] == (
        "body.Pclass: Input should be a valid integer, unable to parse string as an integer"
    )
    assert response.json()["detail"][0]["loc"] == ["body", "Pclass"]


def test_missing_field(client: TestClient, records: Records) -> None:
    response = client.post("/v1/titanic/predict", json=_titanic(records, Sex=...))
    assert response.status_code == 422
    assert response.json()["message"] == "body.Sex: Field required"


def test_missing_aliased_field(client: TestClient, records: Records) -> None:
    record = {k: v for k, v in records("house", 1)[0].items() if k != "1stFlrSF"}
    response = client.post("/v1/house/predict", json=record)
    assert response.status_code == 422
    assert response.json()["message"] == "body.1stFlrSF: Field required"


@pytest.mark.parametrize(("name", "column"), [("titanic", "Fare"), ("house", "1stFlrSF")])
def test_number_beyond_the_cards_max(
    client: TestClient, model_dir: Path, records: Records, name: str, column: str
) -> None:
    spec = _card(model_dir, name)["input_schema"][column]
    limit = spec["max"] if spec["type"] == "number" else int(np.ceil(spec["max"]))
    record = {**records(name, 1)[0], column: limit + 1}
    response = client.post(f"/v1/{name}/predict", json=record)
    assert response.status_code == 422
    message = response.json()["message"]
    assert message == f"body.{column}: Input should be less than or equal to {limit}"


def test_unknown_category(client: TestClient, records: Records) -> None:
    response = client.post("/v1/titanic/predict", json=_titanic(records, Sex="unknown"))
    assert response.status_code == 422
    assert response.json()["message"] == "body.Sex: Input should be 'female' or 'male'"


def test_extra_field(client: TestClient, records: Records) -> None:
    response = client.post("/v1/titanic/predict", json=_titanic(records, Deck="B"))
    assert response.status_code == 422
    assert response.json()["message"] == "body.Deck: Extra inputs are not permitted"


def test_bad_record_inside_a_batch(client: TestClient, records: Records) -> None:
    batch = records("titanic", 3)
    batch[1] = {**batch[1], "Embarked": "X"}
    response = client.post("/v1/titanic/predict/batch", json={"records": batch})
    assert response.status_code == 422
    assert response.json()["message"] == "body.records.1.Embarked: Input should be 'C', 'Q' or 'S'"


def test_empty_batch(client: TestClient) -> None:
    response = client.post("/v1/titanic/predict/batch", json={"records": []})
    assert response.status_code == 422
    assert response.json()["message"] == (
        "body.records: List should have at least 1 item after validation, not 0"
    )


def test_oversized_batch(client: TestClient, records: Records) -> None:
    response = client.post("/v1/titanic/predict/batch", json={"records": records("titanic", 9)})
    assert response.status_code == 422
    assert response.json()["message"] == (
        "body.records: List should have at most 8 items after validation, not 9"
    )


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/v1/titanic/predict",
        content=b'{"Pclass": 1,',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["message"].endswith("JSON decode error")
    assert response.json()["detail"][0]["type"] == "json_invalid"


def _raw(record: dict[str, Any], column: str, literal: str) -> str:
    """The record as JSON text with ``column`` set to a bare ``NaN``/``Infinity`` literal."""
    text = json.dumps({**record, column: "__SENTINEL__"})
    return text.replace('"__SENTINEL__"', literal)


def test_nan_in_an_unknown_field_is_a_422(lenient: TestClient) -> None:
    response = lenient.post(
        "/v1/titanic/predict", content=b'{"x": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, f"{response.status_code}: {response.text}"
    errors = {(tuple(e["loc"]), e["type"]) for e in response.json()["detail"]}
    assert (("body", "x"), "extra_forbidden") in errors


@pytest.mark.parametrize(("column", "literal"), [("Fare", "Infinity"), ("Age", "NaN")])
def test_nan_or_infinity_in_a_number_is_a_422(
    lenient: TestClient, records: Records, column: str, literal: str
) -> None:
    content = _raw(records("titanic", 1)[0], column, literal)
    response = lenient.post(
        "/v1/titanic/predict", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, f"{response.status_code}: {response.text}"
    assert response.json()["message"] == f"body.{column}: Input should be a finite number"


@pytest.mark.parametrize("path", ["/v1/nope/predict", "/v1/nope/predict/batch"])
def test_unknown_model(client: TestClient, records: Records, path: str) -> None:
    response = client.post(path, json=records("titanic", 1)[0])
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown model 'nope'; loaded: titanic, house, churn"}
