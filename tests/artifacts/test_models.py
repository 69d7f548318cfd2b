"""Model files: joblib + card, hash verification, schema inference, registry and @champion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from ai_roadmap import runner, tracking
from ai_roadmap.artifacts import ModelCard, infer_input_schema, load_model, read_card, save_model
from ai_roadmap.catalog import Target
from ai_roadmap.errors import IntegrityError, RoadmapError
from ai_roadmap.settings import get_settings


def _card() -> ModelCard:
    return ModelCard(name="m", task="classification", target="y", input_schema={})


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    folder = save_model(model, tmp_path / "m", _card())
    loaded, card = load_model(folder)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert len(card.sha256) == 64 and "scikit-learn" in card.versions
    assert sorted(p.name for p in folder.iterdir()) == ["model.joblib", "model_card.json"]


def test_changed_file_is_refused(tmp_path: Path) -> None:
    folder = save_model({"weights": [1, 2, 3]}, tmp_path / "m", _card())
    with (folder / "model.joblib").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(IntegrityError, match="differs from its card"):
        load_model(folder)


def test_missing_or_broken_card(tmp_path: Path) -> None:
    with pytest.raises(RoadmapError, match=r"no model_card\.json"):
        read_card(tmp_path)
    (tmp_path / "model_card.json").write_text("{not json")
    with pytest.raises(RoadmapError, match="unreadable model card"):
        read_card(tmp_path)


def test_input_schema() -> None:
    frame = pd.DataFrame(
        {"age": [20, 40, None], "fare": [1.5, 2.5, 3.5], "sex": ["male", "female", "male"]}
    )
    schema = infer_input_schema(frame)
    assert schema["sex"] == {
        "type": "category",
        "categories": ["female", "male"],
        "nullable": False,
    }
    assert schema["fare"]["type"] == "number" and schema["fare"]["min"] == 0.5
    assert schema["fare"]["max"] == 4.5  # 3.5 + half the range (1.0)
    assert schema["age"]["nullable"] is True


@pytest.fixture
def model_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, roadmap_home: Path) -> None:
    import fake_milestones

    target = Target(metric="score", op=">=", threshold=0.8, dataset="fake")
    runs = {"t.model": fake_milestones.with_model}
    fake_milestones.install(monkeypatch, tmp_path / "conf", runs, target, "value: 1\n")


def _champion_version() -> str:
    client, _ = tracking.client(get_settings())
    return str(client.get_model_version_by_alias("t.model", tracking.CHAMPION).version)


def test_runs_register_models_and_move_champion(model_catalog: None, tmp_path: Path) -> None:
    runner.run_milestone("t.model", "smoke", ["value=0.1"])  # fails, but the first is champion
    assert _champion_version() == "1"
    runner.run_milestone("t.model", "quick", ["value=0.9"])  # passes at quick: promoted
    assert _champion_version() == "2"
    runner.run_milestone("t.model", "smoke", ["value=0.9"])  # a smoke pass never displaces it
    assert _champion_version() == "2"
    runner.run_milestone("t.model", "quick", ["value=0.1"])  # a failing run is kept, not promoted
    assert _champion_version() == "2"
    runner.run_milestone("t.model", "full", ["value=0.1"])  # larger, but fails: 2 passed
    assert _champion_version() == "2"
    folder, version = tracking.champion_model_dir(get_settings(), "t.model", tmp_path / "dl")
    model, card = load_model(folder)
    assert version == "2" and card.input_schema["colour"]["categories"] == ["a", "b"]
    assert model.predict(pd.DataFrame({"x": [3.0]}))[0] == 1


def test_an_unjudged_champion_yields_to_a_larger_run(model_catalog: None) -> None:
    """Without a pass (e.g. a proxy dataset), the longer training run is the better model."""
    runner.run_milestone("t.model", "quick", ["value=0.1"])
    runner.run_milestone("t.model", "quick", ["value=0.2"])  # same scale: the first stays
    assert _champion_version() == "1"
    runner.run_milestone("t.model", "full", ["value=0.2"])  # larger scale, nobody passed
    assert _champion_version() == "3"
    runner.run_milestone("t.model", "quick", ["value=0.3"])  # smaller again: stays
    assert _champion_version() == "3"


def test_missing_champion_is_one_line(roadmap_home: Path, tmp_path: Path) -> None:
    with pytest.raises(RoadmapError, match=r"run `roadmap run s0.titanic` first"):
        tracking.champion_model_dir(get_settings(), "s0.titanic", tmp_path)
