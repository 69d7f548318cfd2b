"""@champion / @challenger against a real MLflow SQLite store: promote, demote, roll back,
what the registry URI then serves, the one-line errors; lineage back to the run; and the
read-back count of concurrent writers (on the same store: creating one costs seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ai_roadmap import tracking
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.mlops import registry
from ai_roadmap.mlops.concurrent_logging import read_back
from ai_roadmap.mlops.model_lineage import lineage
from ai_roadmap.mlops.model_parity import uri_predictions
from ai_roadmap.settings import Settings
from tiny_registry import register_version


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, Path]]:
    """One SQLite store for the module (creating MLflow's tables costs seconds)."""
    import mlflow

    root = tmp_path_factory.mktemp("registry")
    before = mlflow.get_tracking_uri()
    settings = Settings(home=root, tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    client, experiment = tracking.client(settings)
    yield client, experiment, root
    mlflow.set_tracking_uri(before)


def versions(store: tuple[Any, str, Path], name: str, n: int) -> list[str]:
    client, experiment, root = store
    return [register_version(client, experiment, root, name, k) for k in range(1, n + 1)]


def served_k(client: Any, name: str, tmp: Path) -> float:
    """Which model ``models:/name@champion`` downloads (the card's k)."""
    import mlflow

    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}@champion", dst_path=str(tmp), tracking_uri=client.tracking_uri
    )
    return float(json.loads((Path(folder) / "model_card.json").read_text())["metrics"]["k"])


def test_promote_moves_the_champion_and_records_the_old_one(store: Any) -> None:
    client = store[0]
    v1, v2 = versions(store, "m.promote", 2)
    assert registry.aliases(client, "m.promote") == {"champion": v1}  # smoke: the first stays
    move = registry.set_challenger(client, "m.promote", v2)
    assert (move.before, move.after) == (None, v2)
    assert registry.aliases(client, "m.promote") == {"champion": v1, "challenger": v2}
    move = registry.promote(client, "m.promote")
    assert (move.alias, move.before, move.after) == ("champion", v1, v2)
    assert registry.aliases(client, "m.promote") == {"champion": v2}
    listed = {v.version: v for v in registry.list_versions(client, "m.promote")}
    assert listed[v2].aliases == ["champion"] and listed[v2].previous_champion == v1
    assert listed[v1].aliases == [] and listed[v1].previous_champion is None


def test_rollback_restores_the_previous_version_step_by_step(store: Any, tmp_path: Path) -> None:
    client = store[0]
    v1, v2, v3 = versions(store, "m.rollback", 3)
    for challenger in (v2, v3):
        registry.set_challenger(client, "m.rollback", challenger)
        registry.promote(client, "m.rollback")
    assert served_k(client, "m.rollback", tmp_path / "a") == 3.0
    move = registry.rollback(client, "m.rollback")
    assert (move.before, move.after) == (v3, v2)
    assert registry.aliases(client, "m.rollback") == {"champion": v2}
    assert served_k(client, "m.rollback", tmp_path / "b") == 2.0  # the URI serves v2's files
    assert (
        "rolled back to v" + v2 in client.get_model_version("m.rollback", v3).tags[registry.DEMOTED]
    )
    registry.rollback(client, "m.rollback")
    assert served_k(client, "m.rollback", tmp_path / "c") == 1.0
    rows = pd.DataFrame({"x": [0.0, 1.0]})  # the tiny model predicts its prior, 2/3
    by_uri = uri_predictions(
        "models:/m.rollback@champion", client.tracking_uri, rows, tmp_path / "d"
    )
    assert by_uri == pytest.approx([2 / 3, 2 / 3])
    with pytest.raises(RoadmapError, match="replaced no earlier champion"):
        registry.rollback(client, "m.rollback")
    assert registry.aliases(client, "m.rollback") == {"champion": v1}


def test_a_run_that_takes_the_champion_by_itself_can_be_rolled_back(store: Any) -> None:
    client, experiment, root = store
    v1 = register_version(client, experiment, root, "m.auto", 1, scale="smoke")
    v2 = register_version(client, experiment, root, "m.auto", 2, scale="quick", verdict="pass")
    assert registry.aliases(client, "m.auto") == {"champion": v2}
    assert registry.rollback(client, "m.auto").after == v1


def test_demote_drops_the_challenger_only(store: Any) -> None:
    client = store[0]
    v1, v2 = versions(store, "m.demote", 2)
    registry.set_challenger(client, "m.demote", v2)
    move = registry.demote(client, "m.demote")
    assert (move.alias, move.before, move.after) == ("challenger", v2, None)
    assert registry.aliases(client, "m.demote") == {"champion": v1}


def test_the_errors_name_the_problem_and_the_fix(store: Any) -> None:
    client = store[0]
    v1, _ = versions(store, "m.errors", 2)
    with pytest.raises(RoadmapError, match=r"no @challenger to promote.*models challenge") as info:
        registry.promote(client, "m.errors")
    assert info.value.exit_code == 2
    with pytest.raises(
        UsageError, match=r"no registered model 'm\.nope' \(registered: .*m\.errors"
    ):
        registry.promote(client, "m.nope")
    with pytest.raises(UsageError, match="already @champion"):
        registry.set_challenger(client, "m.errors", v1)
    with pytest.raises(UsageError, match=r"no version '9'.*versions: 2, 1"):
        registry.set_challenger(client, "m.errors", "9")
    with pytest.raises(RoadmapError, match="no @challenger to demote"):
        registry.demote(client, "m.errors")
    assert registry.aliases(client, "m.errors") == {"champion": v1}


def test_lineage_follows_the_version_to_its_run_tags_and_card(store: Any) -> None:
    client, experiment, root = store
    tags = {
        "roadmap.git_sha": "0123abc",
        "roadmap.dataset": "toy",
        "roadmap.data.toy": "sha256:feed",
        "roadmap.scale": "smoke",
    }
    register_version(client, experiment, root, "m.lineage", 1, tags=tags)
    found = lineage(client, "m.lineage", "@champion")
    assert found.version == "1" and found.aliases == ["champion"]
    assert (found.git_sha, found.dataset, found.data) == ("0123abc", "toy", {"toy": "sha256:feed"})
    assert found.run_status == "FINISHED" and found.item_id == "m.lineage"
    assert found.card["name"] == "m.lineage" and set(found.card["files"]) == {"model.joblib"}
    assert found.missing(require_data=True) == []


def test_lineage_names_each_missing_link(store: Any) -> None:
    client, experiment, root = store
    register_version(client, experiment, root, "m.gaps", 1, tags={"roadmap.git_sha": "unknown"})
    found = lineage(client, "m.gaps", "1")
    assert found.missing() == ["roadmap.git_sha", "roadmap.dataset"]
    assert found.missing(require_git=False) == ["roadmap.dataset"]  # code outside Git
    assert found.missing(require_data=True)[-1].startswith("roadmap.data.*")
    with pytest.raises(UsageError, match="no version or alias 'challenger'"):
        lineage(client, "m.gaps", "challenger")


def test_the_writers_count_sees_a_lost_param_a_lost_point_and_a_wrong_value(store: Any) -> None:
    """The milestone runs the writers against a real server; here one run is filled by hand."""
    client, experiment, _ = store
    run_id = client.create_run(experiment).info.run_id
    n = 3
    for k in range(2):
        for i in range(n):
            if (k, i) != (1, 2):  # writer 1 loses its last param and its last own point
                client.log_param(run_id, f"w{k}.p{i}", f"{k}-{i}")
                client.log_metric(run_id, f"w{k}.m", 1000.0 * k + i, step=i)
            value = -1.0 if (k, i) == (0, 1) else 1000.0 * k + i  # one wrong shared value
            client.log_metric(run_id, "shared.m", value, step=k * n + i)
    found = read_back(
        client, run_id, 2, n, [{"start": 0.0, "end": 2.0}, {"start": 1.0, "end": 3.0}]
    )
    assert (found.params_lost, found.metric_points_lost, found.wrong_values) == (1, 1, 1)
    assert found.lost == 3 and found.requests == 18
    assert (found.overlap_s, found.wall_s) == (1.0, 3.0)
