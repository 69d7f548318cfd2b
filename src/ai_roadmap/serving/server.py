"""A real Gunicorn server over the exported models, on 127.0.0.1, for a load test.

The server is what ``roadmap serve`` runs (Gunicorn + ``uvicorn_worker.UvicornWorker``
over ``create_app()``), started as a child in its own process group on
127.0.0.1 and a free port, and always stopped by killing that group, so that no
worker outlives the test. The CPU time of each worker is read from outside
(psutil) to see how evenly the load spread over them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ai_roadmap.errors import RoadmapError
from ai_roadmap.settings import Settings

HOST = "127.0.0.1"  # load tests never leave the loopback interface


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def gunicorn_command(python: str, workers: int, port: int) -> list[str]:
    """The command ``roadmap serve`` execs, bound to 127.0.0.1."""
    return [
        python, "-m", "gunicorn",
        "-k", "uvicorn_worker.UvicornWorker",
        "-w", str(workers),
        "-b", f"{HOST}:{port}",
        "--graceful-timeout", "5",
        "ai_roadmap.serving.app:create_app()",
    ]  # fmt: skip


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left after 10 s."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # a worker that outlived its master
        os.killpg(process.pid, signal.SIGKILL)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a child's log, for the one-line error when it fails."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_http(
    url: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout_s: float,
    what: str = "the server",
) -> float:
    """Seconds until ``GET url`` answers 200; a :class:`RoadmapError` with the log's tail if the
    process exits first or ``timeout_s`` passes."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RoadmapError(f"{what} exited with {process.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RoadmapError(f"{what} was not ready after {timeout_s:.0f} s:\n{log_tail(log)}")


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> float:
    """Seconds until the service's ``GET /readyz`` answers 200 (see :func:`wait_http`)."""
    return wait_http(f"{url}/readyz", process, log, timeout_s)


@dataclass
class Server:
    url: str
    ready_s: float
    pid: int  # the Gunicorn master; its children are the workers


@contextmanager
def running_server(
    settings: Settings,
    workers: int,
    python: str | None = None,
    ready_timeout_s: float = 120.0,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """Start Gunicorn over ``settings.model_dir``; yields its URL, seconds to ready and pid.

    ``python`` is the interpreter whose environment serves (default: this one);
    the child runs in a scratch folder so that only installed code is imported.
    ``extra_env`` adds variables (the Dockerfile's thread limits, for one).
    """
    with tempfile.TemporaryDirectory(prefix="roadmap-serve-") as scratch:
        port = free_port()
        metrics_dir = Path(scratch) / "prometheus"
        metrics_dir.mkdir()
        env = dict(
            os.environ,
            ROADMAP_SERVE_MODELS=settings.serve_models,
            ROADMAP_SERVE_MODEL_DIR=str(settings.model_dir),
            ROADMAP_SERVE_MAX_BATCH=str(settings.serve_max_batch),
            PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
            **(extra_env or {}),
        )
        log = Path(scratch) / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                gunicorn_command(python or sys.executable, workers, port),
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg stops every worker
            )
        try:
            url = f"http://{HOST}:{port}"
            yield Server(url, wait_ready(url, process, log, ready_timeout_s), process.pid)
        finally:
            stop_server(process)


def worker_cpu_seconds(master_pid: int) -> dict[int, float]:
    """User + system CPU seconds of each Gunicorn worker so far."""
    import psutil

    seconds = {}
    for child in psutil.Process(master_pid).children():
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[child.pid] = times.user + times.system
    return seconds


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The largest worker's share of the CPU spent between two samples.

    Keep-alive connections stay with the worker that accepted them, so with few
    connections one worker can carry the whole load while the other idles.
    """
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    total = sum(spent)
    return round(max(spent) / total, 3) if total > 0 else 0.0
