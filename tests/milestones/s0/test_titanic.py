"""s0.titanic at smoke scale through the runner, on the pulled Titanic data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap import tracking
from ai_roadmap.runner import run_milestone
from ai_roadmap.settings import get_settings

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_smoke_run_reports_and_writes_submission(
    roadmap_home: Path, data_home: Path, tmp_path: Path
) -> None:
    report = run_milestone("s0.titanic", "smoke")
    assert 0.7 < report.metrics["test_accuracy"] <= 1.0
    assert 0.7 < report.metrics["cv_accuracy_mean"] <= 1.0
    assert report.metrics["n_train"] == 891 and report.metrics["n_test"] == 418
    assert report.verdict in {"pass", "fail"}
    assert report.proxy is False
    assert {"submission.csv", "cv_results.csv"} <= set(report.artifacts)

    client, _ = tracking.client(get_settings())
    names = {a.path for a in client.list_artifacts(report.mlflow_run_id)}
    assert {"submission.csv", "cv_results.csv", "model"} <= names
    local = Path(client.download_artifacts(report.mlflow_run_id, "submission.csv", str(tmp_path)))
    submission = pd.read_csv(local)
    assert list(submission.columns) == ["PassengerId", "Survived"]
    assert len(submission) == 418
    assert submission["PassengerId"].tolist() == list(range(892, 1310))
    assert set(submission["Survived"]) <= {0, 1}
    cv = pd.read_csv(
        client.download_artifacts(report.mlflow_run_id, "cv_results.csv", str(tmp_path))
    )
    assert list(cv.columns) == ["candidate", "mean", "std"]
    assert cv["mean"].is_monotonic_decreasing
