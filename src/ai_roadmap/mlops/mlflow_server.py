"""A real ``mlflow server`` on 127.0.0.1: the tracking server a team shares, started for a run.

``running_mlflow_server(root)`` starts ``mlflow server`` as a child in its own
process group, with a SQLite backend store (``root/mlflow.db``) and proxied
artifacts (``--artifacts-destination root/artifacts``: clients upload and
download through the server, so they need no access to its disk), waits for
``GET /health`` and yields its URL; on leaving the block, however it is left,
the whole process group is stopped (SIGTERM, then SIGKILL after 10 s).

Point any ``roadmap`` command at it with ``ROADMAP_TRACKING_URI`` (or
``MLFLOW_TRACKING_URI``) set to the URL. On 2 cores one uvicorn worker is
enough, and the GenAI job runner (a Huey consumer per job type, seven
processes) is switched off: nothing here submits server-side jobs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.server import HOST, free_port, stop_server, wait_http

if TYPE_CHECKING:
    from ai_roadmap.settings import Settings

# what every child of ours gets: no telemetry, no downloads, no server-side job runner
OFFLINE_ENV = {
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_HUB_OFFLINE": "1",
    "DVC_NO_ANALYTICS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GIT_PYTHON_REFRESH": "quiet",
}


@dataclass(frozen=True)
class MlflowServer:
    """A running tracking server: its URL, seconds from spawn to a healthy answer, its pid."""

    url: str
    start_s: float
    pid: int
    backend_uri: str
    artifacts: Path
    log: Path


def server_command(
    python: str, port: int, backend_uri: str, artifacts: Path, workers: int
) -> list[str]:
    """The ``mlflow server`` command line, bound to 127.0.0.1 and serving artifacts itself."""
    return [
        python, "-m", "mlflow", "server",
        "--host", HOST,
        "--port", str(port),
        "--workers", str(workers),
        "--backend-store-uri", backend_uri,
        "--serve-artifacts",
        "--artifacts-destination", str(artifacts),
    ]  # fmt: skip


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment with the offline settings, for a child process."""
    return dict(os.environ, **OFFLINE_ENV, **extra)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> float:
    """Seconds until ``GET /health`` answers 200; a one-line :class:`RoadmapError` otherwise
    (on a loaded machine, raise the timeout)."""
    return wait_http(f"{url}/health", process, log, timeout_s, "mlflow server")


@contextmanager
def running_mlflow_server(
    root: Path,
    workers: int = 1,
    timeout_s: float = 120.0,
    python: str | None = None,
) -> Iterator[MlflowServer]:
    """Start ``mlflow server`` over ``root/mlflow.db`` and ``root/artifacts``; stop it on exit.

    The store survives the server: start another over the same ``root`` and it
    serves the same runs and models.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    artifacts = root / "artifacts"
    backend = f"sqlite:///{root / 'mlflow.db'}"
    log = root / "server.log"
    port = free_port()
    command = server_command(python or sys.executable, port, backend, artifacts, workers)
    started = time.perf_counter()
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=child_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg stops uvicorn with it
        )
    try:
        url = f"http://{HOST}:{port}"
        wait_healthy(url, process, log, timeout_s)
        yield MlflowServer(url, time.perf_counter() - started, process.pid, backend, artifacts, log)
    finally:
        stop_server(process)


def roadmap_json(commands: list[list[str]], settings: Settings, timeout_s: float) -> list[Any]:
    """``roadmap <command> --json`` in child processes, all at once, on ``settings``' store.

    What a teammate's shell does: the children get ``ROADMAP_TRACKING_URI`` (a server's
    URL), ``ROADMAP_HOME`` and ``ROADMAP_DATA_HOME`` from ``settings``. Returns each
    command's parsed JSON; a failure or a timeout is a :class:`RoadmapError` naming the
    command, and no child outlives the call.
    """
    env = child_env(
        ROADMAP_HOME=str(settings.home_dir),
        ROADMAP_TRACKING_URI=settings.mlflow_uri,
        ROADMAP_DATA_HOME=str(settings.data_root),
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ai_roadmap", *command, "--json"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for command in commands
    ]
    try:
        return [_answer(c, p, timeout_s) for c, p in zip(commands, procs, strict=True)]
    finally:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


def _answer(command: list[str], proc: subprocess.Popen[bytes], timeout_s: float) -> Any:
    shown = "roadmap " + " ".join(command)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RoadmapError(f"`{shown}` took over {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise RoadmapError(f"`{shown}` exited with {proc.returncode}: {stderr.decode()[-300:]}")
    return json.loads(stdout)
