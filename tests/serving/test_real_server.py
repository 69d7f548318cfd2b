"""The service as it is deployed: Gunicorn, two Uvicorn workers, multiprocess metrics.

The server is a subprocess in its own process group on 127.0.0.1 and a free
port, configured only through environment variables, and always stopped by
killing its process group.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

APP = "ai_roadmap.serving.app:create_app()"
READY_TIMEOUT_S = 60


def _gunicorn(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "uvicorn_worker.UvicornWorker",
        "-w",
        "2",
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "5",
        APP,
    ]


def _env(model_dir: Path, work: Path, models: str) -> dict[str, str]:
    multiproc = work / "prometheus"
    multiproc.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROADMAP_")}
    env.update(
        ROADMAP_HOME=str(work / "home"),
        ROADMAP_SERVE_MODEL_DIR=str(model_dir),
        ROADMAP_SERVE_MODELS=models,
        PROMETHEUS_MULTIPROC_DIR=str(multiproc),
    )
    return env


def _stop(process: subprocess.Popen) -> None:
    """Kill the whole process group (arbiter and workers), politely first."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def _wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if _get(f"{base}/readyz")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"/readyz not ready after {READY_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def gunicorn_server(model_dir: Path, tmp_path: Path, free_port: int) -> Iterator[tuple[str, Path]]:
    """(base URL, PROMETHEUS_MULTIPROC_DIR) of a running two-worker Gunicorn."""
    models = "titanic,house,churn"
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _gunicorn(free_port),
            env=_env(model_dir, tmp_path, models),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
    try:
        base = f"http://127.0.0.1:{free_port}"
        _wait_ready(base, process, log)
        yield base, tmp_path / "prometheus"
    finally:
        _stop(process)


def _sample(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def _worker_pids(multiproc: Path) -> set[str]:
    """Workers whose lifespan set ``roadmap_model_info`` (one gauge file per process)."""
    return {path.stem.rsplit("_", 1)[-1] for path in multiproc.glob("gauge_max_*.db")}


def test_gunicorn_serves_predictions_and_aggregated_metrics(
    gunicorn_server: tuple[str, Path], records: Callable[[str, int], list[dict]]
) -> None:
    base, multiproc = gunicorn_server
    deadline = time.monotonic() + READY_TIMEOUT_S
    while len(_worker_pids(multiproc)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # the second worker may still be loading when the first is ready
    assert len(_worker_pids(multiproc)) == 2, sorted(p.name for p in multiproc.iterdir())
    sent = 6
    for record in records("titanic", sent):
        status, body = _post(f"{base}/v1/titanic/predict", record)
        assert status == 200
        assert body["model"] == "titanic" and body["version"] == "7"
        assert 0.0 <= body["probability"] <= 1.0 and body["prediction"] in (0.0, 1.0)
    status, page = _get(f"{base}/metrics")
    assert status == 200
    text = page.decode()
    labels = {"endpoint": "/v1/titanic/predict", "method": "POST", "status": "200"}
    assert _sample(text, "roadmap_http_requests_total", labels) == sent
    assert _sample(text, "roadmap_model_info", {"model": "titanic", "version": "7"}) == 1.0


def test_gunicorn_fails_fast_when_a_model_is_not_exported(
    model_dir: Path, tmp_path: Path, free_port: int
) -> None:
    partial = tmp_path / "served"
    for name in ("titanic", "house"):
        shutil.copytree(model_dir / name, partial / name)
    models = "titanic,house,churn"
    started = time.monotonic()
    process = subprocess.Popen(
        _gunicorn(free_port),
        env=_env(partial, tmp_path, models),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=READY_TIMEOUT_S)
    finally:
        _stop(process)
    message = stderr.decode(errors="replace")
    assert process.returncode not in (0, None), message[-3000:]
    assert time.monotonic() - started < 30
    assert f"model 'churn' is not exported to {partial / 'churn'}" in message, message[-3000:]


def test_killing_a_worker_mid_load_loses_only_its_requests_in_flight(
    model_dir: Path, tmp_path: Path, free_port: int, records: Callable[[str, int], list[dict]]
) -> None:
    """SIGKILL one of two workers under 8 concurrent clients: the service keeps answering.

    Each client sends one request at a time, so at most 8 requests are in flight on the
    killed worker; everything else is answered (by the survivor, then by the worker
    Gunicorn starts in its place).
    """
    import threading

    import psutil

    log = tmp_path / "gunicorn.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _gunicorn(free_port),
            env=_env(model_dir, tmp_path, "titanic"),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{free_port}"
    clients, record = 8, records("titanic", 1)[0]
    outcomes: list[tuple[float, bool]] = []
    lock, stop = threading.Lock(), threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                ok = _post(f"{base}/v1/titanic/predict", record)[0] == 200
            # a response cut off by the kill (IncompleteRead) is a failed request too
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                ok = False
            with lock:
                outcomes.append((time.monotonic(), ok))

    try:
        _wait_ready(base, process, log)
        workers = psutil.Process(process.pid).children()
        assert len(workers) == 2
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        killed_at = time.monotonic()
        os.kill(workers[0].pid, signal.SIGKILL)
        time.sleep(3.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        failed = [t for t, ok in outcomes if not ok]
        after = [t for t, ok in outcomes if ok and t > killed_at + 0.5]
        assert len(failed) <= clients, f"{len(failed)} requests failed, more than were in flight"
        assert len(after) > 50, "the service stopped answering after the kill"
        assert sum(ok for t, ok in outcomes if t < killed_at) > 50  # it was under load
        deadline = time.monotonic() + 30
        while len(psutil.Process(process.pid).children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(psutil.Process(process.pid).children()) == 2  # Gunicorn replaced it
        assert _get(f"{base}/readyz")[0] == 200
    finally:
        stop.set()
        _stop(process)
