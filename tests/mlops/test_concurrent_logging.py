"""The read-back count of concurrent writers finds what is missing or wrong (the milestone
runs the writers against a real server; here one run is filled by hand, with gaps)."""

from __future__ import annotations

from pathlib import Path

from ai_roadmap import tracking
from ai_roadmap.mlops.concurrent_logging import _count
from ai_roadmap.settings import Settings


def test_the_count_sees_a_lost_param_a_lost_point_and_a_wrong_value(tmp_path: Path) -> None:
    import mlflow

    before = mlflow.get_tracking_uri()
    try:
        settings = Settings(home=tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
        client, experiment = tracking.client(settings)
        run_id = client.create_run(experiment).info.run_id
        n = 3
        for k in range(2):
            for i in range(n):
                if (k, i) != (1, 2):  # writer 1 loses its last param and own point
                    client.log_param(run_id, f"w{k}.p{i}", f"{k}-{i}")
                    client.log_metric(run_id, f"w{k}.m", 1000.0 * k + i, step=i)
                value = -1.0 if (k, i) == (0, 1) else 1000.0 * k + i  # one wrong shared value
                client.log_metric(run_id, "shared.m", value, step=k * n + i)
        spans = [{"start": 0.0, "end": 2.0}, {"start": 1.0, "end": 3.0}]
        found = _count(client, run_id, 2, n, spans)
    finally:
        mlflow.set_tracking_uri(before)
    assert (found.params_lost, found.metric_points_lost, found.wrong_values) == (1, 1, 1)
    assert found.lost == 3 and found.requests == 18
    assert (found.overlap_s, found.wall_s) == (1.0, 3.0)
