"""The service's drift monitor against the readable path (mlops.drift on raw values), its
window, its stored reference, the canary and version gauges, and the GPU gauge's honesty."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import REGISTRY

from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops.drift import characteristic_stability_index, population_stability_index
from ai_roadmap.mlops.monitoring import summarise_reference, window_indices, write_reference
from ai_roadmap.serving.gpu import publish_gpu, sample_gpus
from ai_roadmap.serving.quality import (
    QualityMonitor,
    read_reference,
    set_canary_share,
    start_monitor,
)

SCHEMA = {
    "age": {"type": "number"},
    "rooms": {"type": "integer"},
    "colour": {"type": "category"},
    "note": {"type": "string"},  # free text: not monitored
}


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    age = rng.normal(40 + shift, 12, n)
    age[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "rooms": rng.integers(1, 6, n),
            "colour": rng.choice(np.array(["red", "green", "blue", None], dtype=object), n),
            "note": [f"row {i}" for i in range(n)],
        }
    )


def _rows(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _psi_gauge(model: str, feature: str) -> float | None:
    return REGISTRY.get_sample_value(
        "roadmap_feature_psi",
        {"model": model, "feature": feature, "statistic": "CSI" if feature == "colour" else "PSI"},
    )


@pytest.mark.parametrize("shift", [0.0, 15.0])
def test_published_psi_equals_population_stability_index_on_the_same_rows(shift: float) -> None:
    rng = np.random.default_rng(3)
    reference, current = _frame(rng, 600), _frame(rng, 150, shift)
    features = summarise_reference(reference, SCHEMA, bins=10)
    assert [f.name for f in features] == ["age", "rooms", "colour"]
    monitor = QualityMonitor(f"m{int(shift)}", features, window=150)
    monitor.observe(_rows(current.iloc[:100]), [0.2] * 100)
    assert _psi_gauge(f"m{int(shift)}", "age") is None  # the window is not complete yet
    monitor.observe(_rows(current.iloc[100:]), None)
    expected_age = population_stability_index(
        reference["age"].to_numpy(), current["age"].to_numpy(), 10
    )
    expected_rooms = population_stability_index(
        reference["rooms"].to_numpy(float), current["rooms"].to_numpy(float), 10
    )
    expected_colour = characteristic_stability_index(reference["colour"], current["colour"])
    assert _psi_gauge(f"m{int(shift)}", "age") == pytest.approx(expected_age, rel=1e-12)
    assert _psi_gauge(f"m{int(shift)}", "rooms") == pytest.approx(expected_rooms, rel=1e-12)
    assert _psi_gauge(f"m{int(shift)}", "colour") == pytest.approx(expected_colour, rel=1e-12)
    assert window_indices(reference, current, features)["age"] == pytest.approx(expected_age)
    if shift:
        assert expected_age > 0.25  # the shifted ages drift, and the gauge says so
    else:
        assert expected_age < 0.25  # sampling noise of 150 rows in 11 buckets, no "act"


def test_an_unseen_category_and_a_value_of_the_wrong_type_get_their_own_buckets() -> None:
    reference = pd.DataFrame({"colour": ["red"] * 50 + ["blue"] * 50, "age": np.arange(100.0)})
    schema = {"colour": {"type": "category"}, "age": {"type": "number"}}
    features = summarise_reference(reference, schema, bins=4)
    colour, age = features
    assert colour.bucket("purple") == 2 and colour.bucket(None) == 3
    assert age.bucket("not a number") == len(age.counts) - 1 == age.bucket(float("nan"))
    monitor = QualityMonitor("unseen", features, window=10)
    rows = [{"colour": "purple", "age": 1.0}] * 10
    monitor.observe(rows, None)
    expected = characteristic_stability_index(reference["colour"], ["purple"] * 10)
    assert _psi_gauge("unseen", "colour") == pytest.approx(expected)


def test_a_batch_is_never_split_and_the_pending_gauge_counts_the_open_window() -> None:
    reference = pd.DataFrame({"x": np.arange(100.0)})
    features = summarise_reference(reference, {"x": {"type": "number"}})
    monitor = QualityMonitor("pending", features, window=10)
    monitor.observe([{"x": 1.0}] * 7, None)
    assert REGISTRY.get_sample_value("roadmap_drift_window_pending_rows", {"model": "pending"}) == 7
    monitor.observe([{"x": 1.0}] * 7, None)  # 14 rows ≥ 10: one window of 14, none pending
    assert REGISTRY.get_sample_value("roadmap_drift_window_pending_rows", {"model": "pending"}) == 0
    assert REGISTRY.get_sample_value("roadmap_drift_windows_total", {"model": "pending"}) == 1
    with pytest.raises(ValueError, match="at least one row"):
        QualityMonitor("pending", features, window=0)


def test_the_reference_round_trips_and_a_damaged_one_is_a_one_line_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    features = summarise_reference(_frame(rng, 200), SCHEMA, bins=5)
    path = write_reference(tmp_path, features, bins=5)
    assert read_reference(tmp_path) == features
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left
    assert read_reference(tmp_path / "elsewhere") is None
    path.write_text(json.dumps({"features": [{"name": "age"}]}))
    with pytest.raises(RoadmapError, match="unreadable drift reference"):
        read_reference(tmp_path)
    with pytest.raises(RoadmapError, match="no numeric or categorical input"):
        summarise_reference(_frame(rng, 10), {"note": {"type": "string"}})


def test_version_and_canary_gauges(tmp_path: Path) -> None:
    assert start_monitor("gauges", "12", tmp_path, window=5, canary_share=0.1) is None
    assert REGISTRY.get_sample_value("roadmap_canary_share", {"model": "gauges"}) == 0.1
    labels = {"model": "gauges", "version": "12"}
    assert REGISTRY.get_sample_value("roadmap_model_version", labels) == 12
    set_canary_share("gauges", 0.5)
    assert REGISTRY.get_sample_value("roadmap_canary_share", {"model": "gauges"}) == 0.5
    with pytest.raises(ValueError, match="within"):
        set_canary_share("gauges", 1.5)


def test_the_gpu_gauge_says_what_nvml_says() -> None:
    sample = publish_gpu()
    assert sample == sample_gpus() or sample.present  # utilisation may move between samples
    present = REGISTRY.get_sample_value("roadmap_gpu_present")
    assert present == float(sample.present)
    for index in sample.devices:
        assert REGISTRY.get_sample_value("roadmap_gpu_utilization_ratio", {"gpu": index}) >= 0
    if not sample.present:
        assert sample.devices == {} and sample.reason


def test_with_a_gpu_every_device_gets_utilisation_and_memory_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No GPU here: a stand-in NVML module with two devices drives the code path that a real
    driver would (the values are the stand-in's, and only this test sees them)."""
    import sys
    from types import SimpleNamespace

    from ai_roadmap.serving import gpu

    stub = SimpleNamespace(
        nvmlInit=lambda: None,
        nvmlSystemGetDriverVersion=lambda: "stub",
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=[30, 75][h]),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(used=[1 << 30, 2 << 30][h]),
    )
    monkeypatch.setitem(sys.modules, "pynvml", stub)
    monkeypatch.setitem(gpu._STATE, "nvml", (stub, "NVIDIA driver stub"))
    sample = gpu.publish_gpu()
    assert sample.present and sample.devices == {"0": (0.3, 1 << 30), "1": (0.75, 2 << 30)}
    assert REGISTRY.get_sample_value("roadmap_gpu_present") == 1
    assert REGISTRY.get_sample_value("roadmap_gpu_utilization_ratio", {"gpu": "1"}) == 0.75
    assert REGISTRY.get_sample_value("roadmap_gpu_memory_used_bytes", {"gpu": "0"}) == 1 << 30
    monkeypatch.undo()
    for name in ("util", "memory"):  # the stand-in's series leave with it
        gpu.gpu_gauges()[name].clear()
    assert gpu.publish_gpu().present == sample_gpus().present


@pytest.mark.data
def test_roadmap_serve_writes_each_models_training_reference_beside_it(
    tmp_path: Path, roadmap_home: Path
) -> None:
    from fastapi.testclient import TestClient

    from ai_roadmap.artifacts import read_card
    from ai_roadmap.datasets.titanic import load_titanic
    from ai_roadmap.milestones.s5.monitor import stand_in
    from ai_roadmap.mlops.drift import numeric_counts, quantile_edges
    from ai_roadmap.mlops.monitoring import write_served_references
    from ai_roadmap.serving.app import create_app
    from ai_roadmap.settings import Settings

    train = load_titanic().train
    stand_in(tmp_path / "titanic", train)
    lines = write_served_references(tmp_path, ["titanic", "house"])
    assert lines[0].startswith("titanic: drift reference of the 891 Titanic training passengers")
    assert lines[1].startswith("house: no drift reference") and "model_card.json" in lines[1]
    saved = json.loads((tmp_path / "titanic" / "drift_reference.json").read_text())
    age = next(f for f in saved["features"] if f["name"] == "Age")
    edges = quantile_edges(train["Age"].to_numpy(float), saved["bins"])
    assert age["counts"] == numeric_counts(train["Age"].to_numpy(float), edges).tolist()
    # the service started on that folder publishes the PSI gauges after one window
    settings = Settings(serve_model_dir=tmp_path, serve_models="titanic", monitor_window=50)
    row = train.iloc[1]  # a passenger with every served field present
    schema = read_card(tmp_path / "titanic").input_schema
    record = {k: row[k].item() if hasattr(row[k], "item") else row[k] for k in schema}
    with TestClient(create_app(settings)) as client:
        for _ in range(50):
            assert client.post("/v1/titanic/predict", json=record).status_code == 200
        page = client.get("/metrics").text
    assert 'roadmap_feature_psi{feature="Age",model="titanic",statistic="PSI"}' in page
