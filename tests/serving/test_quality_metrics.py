"""``/metrics`` of the service carries the model-quality gauges: drift per feature (equal to
mlops.drift on the same rows), predicted probabilities, canary share, version, GPU presence."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from ai_roadmap.artifacts import read_card
from ai_roadmap.mlops.monitoring import summarise_reference, window_indices, write_reference
from ai_roadmap.serving.app import create_app
from ai_roadmap.serving.gpu import sample_gpus
from ai_roadmap.settings import Settings

WINDOW = 30


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def monitored_dir(
    model_dir: Path, training_frames: dict[str, pd.DataFrame], tmp_path: Path
) -> Path:
    """The fixture titanic model, with the drift reference of its training frame beside it."""
    folder = tmp_path / "titanic"
    shutil.copytree(model_dir / "titanic", folder)
    schema = read_card(folder).input_schema
    write_reference(folder, summarise_reference(training_frames["titanic"], schema), bins=10)
    return tmp_path


def test_metrics_carry_the_quality_gauges(
    monitored_dir: Path,
    training_frames: dict[str, pd.DataFrame],
    records: Callable[[str, int], list[dict]],
) -> None:
    settings = Settings(
        serve_model_dir=monitored_dir,
        serve_models="titanic",
        monitor_window=WINDOW,
        canary_share=0.25,
    )
    rows = records("titanic", 40)
    with TestClient(create_app(settings)) as client:
        for row in rows[:10]:
            assert client.post("/v1/titanic/predict", json=row).status_code == 200
        batch = client.post("/v1/titanic/predict/batch", json={"records": rows[10:WINDOW]})
        assert batch.status_code == 200
        page = client.get("/metrics")
    assert page.status_code == 200
    got = _samples(page.text)
    frame = training_frames["titanic"]
    features = summarise_reference(frame, read_card(monitored_dir / "titanic").input_schema)
    expected = window_indices(frame, frame.iloc[:WINDOW], features)
    assert set(expected) == {"PassengerId", "Pclass", "Sex", "Age", "Fare", "Embarked"}
    for f in features:
        labels = frozenset(
            {"model": "titanic", "feature": f.name, "statistic": f.statistic}.items()
        )
        assert got[("roadmap_feature_psi", labels)] == pytest.approx(expected[f.name], rel=1e-9)
    titanic = frozenset({"model": "titanic"}.items())
    assert got[("roadmap_drift_window_pending_rows", titanic)] == 0
    assert got[("roadmap_canary_share", titanic)] == 0.25
    version = frozenset({"model": "titanic", "version": "7"}.items())
    assert got[("roadmap_model_version", version)] == 7
    count = got[("roadmap_prediction_probability_count", titanic)]
    assert count >= WINDOW  # this app's rows (the registry is the process's, shared by tests)
    top = frozenset({"model": "titanic", "le": "+Inf"}.items())
    assert got[("roadmap_prediction_probability_bucket", top)] == count
    assert got[("roadmap_gpu_present", frozenset())] == float(sample_gpus().present)
    assert not sample_gpus().present or ("roadmap_gpu_utilization_ratio" in page.text)


def test_without_a_reference_there_is_no_drift_gauge_but_the_service_runs(
    model_dir: Path, records: Callable[[str, int], list[dict]]
) -> None:
    settings = Settings(serve_model_dir=model_dir, serve_models="house", monitor_window=2)
    with TestClient(create_app(settings)) as client:
        for row in records("house", 3):
            assert client.post("/v1/house/predict", json=row).status_code == 200
        text = client.get("/metrics").text
    drift = [k for k in _samples(text) if k[0] == "roadmap_feature_psi"]
    assert not [k for k in drift if ("model", "house") in k[1]]
    assert 'roadmap_model_version{model="house",version="7"} 7.0' in text
    assert 'roadmap_prediction_probability_count{model="house"}' not in text  # a regression
