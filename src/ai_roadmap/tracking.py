"""MLflow as the single record of results: write a milestone run, tick a task, read the scorecard.

Every run is an MLflow run in one experiment, tagged ``roadmap.*``. Writing uses
the MLflow client (imported inside the functions, so the CLI starts fast);
reading the scorecard from the default SQLite store uses :mod:`sqlite3` directly,
which lets ``roadmap list`` show verdicts without importing MLflow. A server URI
(``MLFLOW_TRACKING_URI=http://…``) is read with the MLflow client instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ai_roadmap.settings import Settings

TAG = "roadmap."


@dataclass
class Record:
    """The latest finished run of one roadmap item, as the scorecard shows it."""

    item_id: str
    kind: str
    run_id: str
    start_time_ms: int
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.start_time_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")

    @property
    def verdict(self) -> str:
        return self.tags.get(TAG + "verdict", "")

    @property
    def done(self) -> bool:
        return self.tags.get(TAG + "done") == "true"


def _quiet_mlflow() -> None:
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # against a server MLflow prints "View run … at: <url>" to stdout, breaking `--json` output
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    for name in ("alembic", "mlflow", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _sqlite_path(uri: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def client(settings: Settings) -> tuple[Any, str]:
    """An MLflow client on the configured store and the roadmap experiment's id."""
    _quiet_mlflow()
    import mlflow
    from mlflow.tracking import MlflowClient

    db = _sqlite_path(settings.mlflow_uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.mlflow_uri)
    # The first use of a SQLite file creates and migrates its tables, and the first run
    # creates the experiment: two `roadmap run`s started together on a fresh home would
    # both try (duplicate column / duplicate name). One at a time, under a file lock.
    with _store_lock(db):
        mlflow_client = MlflowClient(settings.mlflow_uri)
        experiment = mlflow_client.get_experiment_by_name(settings.experiment)
        if experiment is not None:
            return mlflow_client, experiment.experiment_id
        location = None
        if db is not None:
            settings.artifact_root.mkdir(parents=True, exist_ok=True)
            location = settings.artifact_root.as_uri()
        return mlflow_client, mlflow_client.create_experiment(
            settings.experiment, artifact_location=location
        )


@contextmanager
def _store_lock(db: Path | None) -> Iterator[None]:
    """An exclusive lock on ``<db>.lock`` (nothing for a server store or without fcntl)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: concurrent first runs stay the user's care
        fcntl = None  # type: ignore[assignment]
    if db is None or fcntl is None:
        yield
        return
    with open(db.with_name(db.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def milestone_run(settings: Settings, item_id: str, scale: str) -> Iterator[tuple[Any, str]]:
    """Open an MLflow run; it is marked FINISHED only if the block completes.

    An exception (or Ctrl-C) marks it FAILED (KILLED), so an interrupted run never
    shows in the scorecard, which reads finished runs only.
    """
    mlflow_client, experiment_id = client(settings)
    run = mlflow_client.create_run(
        experiment_id,
        run_name=f"{item_id} {scale}",
        tags={TAG + "id": item_id, TAG + "kind": "milestone", TAG + "scale": scale},
    )
    run_id = run.info.run_id
    try:
        yield mlflow_client, run_id
    except KeyboardInterrupt:
        mlflow_client.set_terminated(run_id, status="KILLED")
        raise
    except BaseException:
        mlflow_client.set_terminated(run_id, status="FAILED")
        raise
    mlflow_client.set_terminated(run_id, status="FINISHED")


def set_task_done(settings: Settings, item_id: str, done: bool) -> None:
    """Record a tick (or untick) of a learning task as a finished run."""
    mlflow_client, experiment_id = client(settings)
    run = mlflow_client.create_run(
        experiment_id,
        run_name=f"{item_id} {'done' if done else 'undone'}",
        tags={TAG + "id": item_id, TAG + "kind": "task", TAG + "done": str(done).lower()},
    )
    mlflow_client.set_terminated(run.info.run_id, status="FINISHED")


def latest_records(settings: Settings) -> dict[str, Record]:
    """The latest finished run per roadmap id (an empty dict when nothing was recorded)."""
    db = _sqlite_path(settings.mlflow_uri)
    if db is not None:
        return _latest_from_sqlite(db, settings.experiment)
    return _latest_from_client(settings)


def _latest(records: list[Record]) -> dict[str, Record]:
    latest: dict[str, Record] = {}
    for record in sorted(records, key=lambda r: r.start_time_ms):
        latest[record.item_id] = record
    return latest


def _latest_from_sqlite(db: Path, experiment: str) -> dict[str, Record]:
    if not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            runs = conn.execute(
                "SELECT r.run_uuid, r.start_time FROM runs r"
                " JOIN experiments e ON e.experiment_id = r.experiment_id"
                " WHERE e.name = ? AND r.status = 'FINISHED' AND r.lifecycle_stage = 'active'",
                (experiment,),
            ).fetchall()
        except sqlite3.OperationalError:  # a fresh file without MLflow's tables yet
            return {}
        found: dict[str, Record] = {}
        for run_id, start in runs:
            found[run_id] = Record(item_id="", kind="", run_id=run_id, start_time_ms=int(start))
        if not found:
            return {}
        marks = ",".join("?" * len(found))
        for run_id, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})"
            " AND key LIKE 'roadmap.%'",
            list(found),
        ):
            found[run_id].tags[key] = value
        for run_id, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM latest_metrics WHERE run_uuid IN ({marks})",
            list(found),
        ):
            found[run_id].metrics[key] = float(value)
    return _latest(_with_ids(found.values()))


def _latest_from_client(settings: Settings) -> dict[str, Record]:
    mlflow_client, experiment_id = client(settings)
    runs = mlflow_client.search_runs(
        [experiment_id], filter_string="attributes.status = 'FINISHED'", max_results=50000
    )
    records = [
        Record(
            item_id="",
            kind="",
            run_id=run.info.run_id,
            start_time_ms=int(run.info.start_time),
            tags={k: v for k, v in run.data.tags.items() if k.startswith(TAG)},
            metrics=dict(run.data.metrics),
        )
        for run in runs
    ]
    return _latest(_with_ids(records))


def _with_ids(records: Any) -> list[Record]:
    out = []
    for record in records:
        record.item_id = record.tags.get(TAG + "id", "")
        record.kind = record.tags.get(TAG + "kind", "")
        if record.item_id:
            out.append(record)
    return out


CHAMPION = "champion"
# on a version that took @champion: the version it replaced (what a rollback returns to)
PREVIOUS_CHAMPION = TAG + "previous_champion"


def register_model(client: Any, item_id: str, run_id: str, verdict: str, scale: str) -> str:
    """Register the run's ``model/`` folder under the milestone id; move ``@champion`` if earned.

    A new version becomes the champion when there is none yet, when its run
    passed the target at a scale above ``smoke``, or when the champion has not
    passed and the new run is at a larger scale (smoke < quick < full): a model
    whose target cannot be judged here (a proxy dataset) is replaced by the
    longer training run, never a passing model by a failing one. A smoke model
    only ever stands in until a real run exists. Returns the new version number.
    """
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):  # already registered
        client.create_registered_model(item_id)
    source = f"{client.get_run(run_id).info.artifact_uri}/model"
    version = client.create_model_version(
        item_id, source, run_id=run_id, tags={TAG + "verdict": verdict, TAG + "scale": scale}
    )
    try:
        current = client.get_model_version_by_alias(item_id, CHAMPION)
    except MlflowException:
        current = None
    if current is None or _outranks(scale, verdict, current.tags):
        if current is not None:
            client.set_model_version_tag(
                item_id, version.version, PREVIOUS_CHAMPION, str(current.version)
            )
        client.set_registered_model_alias(item_id, CHAMPION, version.version)
    return str(version.version)


SCALE_RANK = {"smoke": 0, "quick": 1, "full": 2}


def _outranks(scale: str, verdict: str, champion_tags: dict[str, str]) -> bool:
    """Should a new ``scale`` run with ``verdict`` replace the champion carrying these tags?"""
    if scale == "smoke":
        return False
    champion_scale = champion_tags.get(TAG + "scale", "smoke")
    if verdict == "pass" or champion_scale == "smoke":
        return True
    champion_passed = champion_tags.get(TAG + "verdict") == "pass"
    return not champion_passed and SCALE_RANK.get(scale, 0) > SCALE_RANK.get(champion_scale, 0)


def champion_model_dir(settings: Settings, name: str, dest: Path) -> tuple[Path, str]:
    """Download the ``@champion`` version of a registered model into ``dest``.

    Returns the local model folder and the version; a one-line error when no
    champion exists.
    """
    from mlflow.exceptions import MlflowException

    from ai_roadmap.errors import RoadmapError

    mlflow_client, _ = client(settings)
    try:
        version = mlflow_client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        raise RoadmapError(
            f"no trained model {name!r} in the registry; run `roadmap run {name}` first"
        ) from None
    local = mlflow_client.download_artifacts(version.run_id, "model", str(dest))
    return Path(local), str(version.version)
