"""Several processes logging into one run of a tracking server at once: does anything get lost?

A team's runs log concurrently (DDP ranks, parallel trials, two people). Each
writer here is a separate process that logs, one REST request each, ``n``
params ``w<k>.p<i> = <k>-<i>``, ``n`` points of its own metric ``w<k>.m`` (step
``i``, value ``1000 k + i``) and ``n`` points of a metric all writers share,
``shared.m`` (step ``k n + i``). The writers start together (each imports
MLflow, says it is ready, and waits for a go file), so their requests
interleave. Afterwards the parent reads the run back: every param with its
value, every metric history point by point. ``lost`` counts what the writers
logged and the server does not have; ``overlap_s`` is how long all writers
were logging at the same time (0 would mean the test proved nothing).

Run one writer: ``python -m ai_roadmap.mlops.concurrent_logging URI RUN_ID K N WORKDIR``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError


@dataclass(frozen=True)
class Concurrency:
    """What the parent read back after ``writers`` processes logged ``n`` of each kind."""

    writers: int
    n: int
    requests: int  # REST calls the writers made in all
    params_lost: int
    metric_points_lost: int
    wrong_values: int
    overlap_s: float  # all writers logging at once
    wall_s: float  # first request to last, any writer
    requests_per_s: float

    @property
    def lost(self) -> int:
        return self.params_lost + self.metric_points_lost + self.wrong_values


def write(uri: str, run_id: str, k: int, n: int, workdir: Path) -> None:
    """One writer's logging (the child process's body)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    (workdir / f"ready-{k}").touch()
    while not (workdir / "go").exists():
        time.sleep(0.01)
    started = time.time()
    for i in range(n):
        client.log_param(run_id, f"w{k}.p{i}", f"{k}-{i}")
        client.log_metric(run_id, f"w{k}.m", float(1000 * k + i), step=i)
        client.log_metric(run_id, "shared.m", float(1000 * k + i), step=k * n + i)
    ended = time.time()
    (workdir / f"done-{k}.json").write_text(json.dumps({"start": started, "end": ended}))


def run_writers(
    client: Any,
    run_id: str,
    writers: int,
    n: int,
    workdir: Path,
    env: dict[str, str],
    timeout_s: float,
) -> Concurrency:
    """Start the writers, release them together, wait, then read the run back and count."""
    workdir.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                __name__,
                client.tracking_uri,
                run_id,
                str(k),
                str(n),
                str(workdir),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / f"writer-{k}.log").open("wb"),
            start_new_session=True,
        )
        for k in range(writers)
    ]
    try:
        _release_when_ready(procs, workdir, writers, timeout_s)
        for k, proc in enumerate(procs):
            if proc.wait(timeout=timeout_s) != 0:
                log = (workdir / f"writer-{k}.log").read_text(errors="replace").strip()
                raise RoadmapError(f"writer {k} exited with {proc.returncode}: {log[-300:]}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    spans = [json.loads((workdir / f"done-{k}.json").read_text()) for k in range(writers)]
    return read_back(client, run_id, writers, n, spans)


def _release_when_ready(procs: list[Any], workdir: Path, writers: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while sum((workdir / f"ready-{k}").exists() for k in range(writers)) < writers:
        if any(p.poll() not in (None, 0) for p in procs) or time.monotonic() > deadline:
            raise RoadmapError(f"the logging writers did not start (logs in {workdir})")
        time.sleep(0.05)
    (workdir / "go").touch()


def read_back(
    client: Any, run_id: str, writers: int, n: int, spans: list[dict[str, float]]
) -> Concurrency:
    """Count what the run lacks or holds wrong; ``spans`` are each writer's first/last time."""
    params = client.get_run(run_id).data.params
    params_lost = wrong = points_lost = 0
    for k in range(writers):
        for i in range(n):
            value = params.get(f"w{k}.p{i}")
            params_lost += value is None
            wrong += value is not None and value != f"{k}-{i}"
        got = {m.step: m.value for m in client.get_metric_history(run_id, f"w{k}.m")}
        points_lost += n - len(got)
        wrong += sum(got.get(i) not in (None, 1000.0 * k + i) for i in range(n))
    shared = {m.step: m.value for m in client.get_metric_history(run_id, "shared.m")}
    points_lost += writers * n - len(shared)
    expected = {k * n + i: 1000.0 * k + i for k in range(writers) for i in range(n)}
    wrong += sum(shared.get(s) not in (None, v) for s, v in expected.items())
    overlap = min(s["end"] for s in spans) - max(s["start"] for s in spans)
    wall = max(s["end"] for s in spans) - min(s["start"] for s in spans)
    requests = 3 * writers * n
    return Concurrency(
        writers=writers,
        n=n,
        requests=requests,
        params_lost=params_lost,
        metric_points_lost=points_lost,
        wrong_values=wrong,
        overlap_s=max(overlap, 0.0),
        wall_s=wall,
        requests_per_s=requests / wall if wall > 0 else 0.0,
    )


if __name__ == "__main__":
    uri_, run_id_, k_, n_, workdir_ = sys.argv[1:6]
    write(uri_, run_id_, int(k_), int(n_), Path(workdir_))
