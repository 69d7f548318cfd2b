"""Load-test the prediction service: a real Gunicorn server, driven by ``wrk`` from outside.

The server is what ``roadmap serve`` runs (Gunicorn + ``uvicorn_worker.UvicornWorker``
over ``create_app()``), started as a child in its own process group on
127.0.0.1 and a free port, and always stopped by killing that group. The load
comes from a second process, ``wrk`` (Debian package ``wrk``), for a bounded
time over a bounded number of keep-alive connections; a small Lua script sets
the POST body and prints wrk's own summary as one JSON line.

wrk is a closed loop: each connection sends its next request when the previous
answer arrives, so with ``c`` connections the mean latency is about
``c / throughput`` (Little's law, ``L = λ W``) and a slow server is offered less
load than an open-loop client would offer it (coordinated omission).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError
from ai_roadmap.settings import Settings

HOST = "127.0.0.1"  # load tests never leave the loopback interface

# Kaggle test passenger 892 (test.csv, first row): a realistic record for the Titanic model.
EXAMPLE_RECORDS: dict[str, dict[str, Any]] = {
    "titanic": {
        "PassengerId": 892,
        "Pclass": 3,
        "Name": "Kelly, Mr. James",
        "Sex": "male",
        "Age": 34.5,
        "SibSp": 0,
        "Parch": 0,
        "Ticket": "330911",
        "Fare": 7.8292,
        "Cabin": None,
        "Embarked": "Q",
    }
}

# wrk's done() hook sees the whole run; latency:percentile() is in microseconds.
_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"mean_us": %.1f, "non_2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True)
class Scenario:
    """One load: ``batch_size`` records per POST to ``model`` (0: ``GET /healthz``)."""

    name: str
    model: str
    batch_size: int
    workers: int
    connections: int | None = None  # None: the run's default
    keep_alive: bool = True  # False: a new TCP connection per request

    @property
    def path(self) -> str:
        if self.batch_size == 0:
            return "/healthz"
        suffix = "/batch" if self.batch_size > 1 else ""
        return f"/v1/{self.model}/predict{suffix}"


@dataclass
class LoadResult:
    """What wrk measured for one scenario (latencies in milliseconds)."""

    scenario: str
    workers: int
    batch_size: int
    rps: float
    records_per_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    errors: int
    non_2xx: int
    socket_errors: int
    requests: int
    duration_s: float
    connections: int
    keep_alive: bool
    busiest_worker_share: float  # CPU share of the busiest worker: 1/workers is even


# ── the server ────────────────────────────────────────────────────────────────


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


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> float:
    """Seconds until ``GET /readyz`` answers 200; a :class:`RoadmapError` if it never does."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RoadmapError(f"the server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RoadmapError(f"the server was not ready after {timeout_s:.0f} s:\n{_tail(log)}")


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


# ── requests ──────────────────────────────────────────────────────────────────


def example_record(name: str, schema: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A valid record: a real one where we have it, else the middle of each column's range."""
    if name in EXAMPLE_RECORDS:
        return dict(EXAMPLE_RECORDS[name])
    record: dict[str, Any] = {}
    for column, spec in schema.items():
        kind = spec["type"]
        if kind == "category":
            record[column] = spec["categories"][0]
        elif kind in ("integer", "number"):
            middle = (float(spec["min"]) + float(spec["max"])) / 2
            record[column] = round(middle) if kind == "integer" else middle
        else:
            record[column] = "x"
    return record


def request_body(record: dict[str, Any], batch_size: int) -> str:
    """The JSON body: the record itself (batch 1) or ``{"records": [record] * batch_size}``."""
    if batch_size <= 1:
        return json.dumps(record)
    return json.dumps({"records": [record] * batch_size})


def post_json(url: str, body: str, timeout_s: float = 30.0) -> tuple[int, dict[str, Any]]:
    """(status, JSON answer) of one POST."""
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


# ── wrk ───────────────────────────────────────────────────────────────────────


def wrk_binary() -> str:
    """The wrk executable, or a one-line error naming the install command."""
    found = shutil.which("wrk")
    if found is None:
        raise RoadmapError("wrk is not installed; run `apt-get install -y wrk` (Debian package)")
    return found


def wrk_script(body: str | None, keep_alive: bool = True) -> str:
    """Lua for wrk: POST ``body`` as JSON (GET when None), and print the summary as JSON.

    Without keep-alive every request opens a connection, so each one goes to
    whichever worker accepts first (an idle one: a busy worker's event loop is
    inside the model call).
    """
    lines = [] if keep_alive else ['wrk.headers["Connection"] = "close"']
    if body is not None:
        if "]==]" in body:
            raise ValueError("the body may not contain the Lua long-string closer ]==]")
        lines += [
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = [==[{body}]==]",
        ]
    return "\n".join(lines) + "\n" + _WRK_DONE


def parse_wrk(output: str) -> dict[str, float]:
    """The ``WRKJSON`` line printed by :data:`_WRK_DONE`, as numbers."""
    for line in output.splitlines():
        if line.startswith("WRKJSON "):
            return {k: float(v) for k, v in json.loads(line.removeprefix("WRKJSON ")).items()}
    raise RoadmapError(f"wrk printed no summary:\n{output[-2000:]}")


def run_wrk(
    url: str,
    body: str | None,
    duration_s: float,
    connections: int,
    threads: int,
    keep_alive: bool = True,
) -> dict[str, float]:
    """Drive ``url`` for ``duration_s`` seconds and return wrk's summary."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(wrk_script(body, keep_alive))
        script = handle.name
    command = [
        wrk_binary(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        script,
        url,
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    finally:
        os.unlink(script)
    if done.returncode != 0:
        raise RoadmapError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return parse_wrk(done.stdout)


def summarise(
    scenario: Scenario, stats: dict[str, float], connections: int, share: float = 0.0
) -> LoadResult:
    seconds = stats["duration_us"] / 1e6
    sockets = int(stats["connect"] + stats["read"] + stats["write"] + stats["timeout"])
    rps = stats["requests"] / seconds if seconds > 0 else 0.0
    return LoadResult(
        scenario=scenario.name,
        workers=scenario.workers,
        batch_size=scenario.batch_size,
        rps=round(rps, 1),
        records_per_s=round(rps * max(scenario.batch_size, 1), 1),
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        mean_ms=round(stats["mean_us"] / 1000, 3),
        errors=int(stats["non_2xx"]) + sockets,
        non_2xx=int(stats["non_2xx"]),
        socket_errors=sockets,
        requests=int(stats["requests"]),
        duration_s=round(seconds, 2),
        connections=connections,
        keep_alive=scenario.keep_alive,
        busiest_worker_share=share,
    )


# ── scenarios ─────────────────────────────────────────────────────────────────


@dataclass
class LoadTestRun:
    """The scenarios' results, each server's seconds to ready, and one answer per model."""

    results: list[LoadResult]
    ready_s: dict[int, float]
    probes: dict[str, dict[str, Any]]


def probe_models(url: str, settings: Settings) -> dict[str, dict[str, Any]]:
    """One prediction from every served model; a :class:`RoadmapError` on any non-200.

    Run before the load: a wrong body would otherwise show up as 100 % errors.
    """
    from ai_roadmap.artifacts import read_card

    answers = {}
    for name in settings.served:
        record = example_record(name, read_card(settings.model_dir / name).input_schema)
        status, answer = post_json(f"{url}/v1/{name}/predict", request_body(record, 1))
        if status != 200:
            raise RoadmapError(f"POST /v1/{name}/predict answered {status}: {answer}"[:400])
        answers[name] = answer
    return answers


def run_load_test(
    settings: Settings,
    scenarios: list[Scenario],
    duration_s: float,
    connections: int,
    threads: int = 1,
    ready_timeout_s: float = 120.0,
    python: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> LoadTestRun:
    """Every scenario, with one server per worker count (started, probed, loaded, stopped).

    ``connections`` is wrk's ``-c`` unless a scenario sets its own.
    """
    from ai_roadmap.artifacts import read_card

    wrk_binary()
    run = LoadTestRun([], {}, {})
    for workers in sorted({s.workers for s in scenarios}):
        with running_server(settings, workers, python, ready_timeout_s, extra_env) as server:
            run.ready_s[workers] = round(server.ready_s, 2)
            run.probes = probe_models(server.url, settings)
            for scenario in (s for s in scenarios if s.workers == workers):
                body = None
                if scenario.batch_size > 0:
                    card = read_card(settings.model_dir / scenario.model)
                    record = example_record(scenario.model, card.input_schema)
                    body = request_body(record, scenario.batch_size)
                clients = scenario.connections or connections
                before = worker_cpu_seconds(server.pid)
                url = server.url + scenario.path
                stats = run_wrk(url, body, duration_s, clients, threads, scenario.keep_alive)
                share = busiest_share(before, worker_cpu_seconds(server.pid))
                run.results.append(summarise(scenario, stats, clients, share))
    return run


def as_rows(results: list[LoadResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
