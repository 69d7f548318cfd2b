"""wait_http, the one readiness wait every started server goes through (the service, the image
server, LitServe, mlflow server, Prometheus): ready, exited, never ready."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.server import free_port, stop_server, wait_http


def _start(tmp_path: Path, code: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return process, log


def test_returns_the_seconds_until_the_url_answers(tmp_path: Path) -> None:
    port = free_port()
    serve = (
        "import http.server as h; "
        f"h.test(h.SimpleHTTPRequestHandler, port={port}, bind='127.0.0.1')"
    )
    process, log = _start(tmp_path, serve)
    try:
        assert 0 < wait_http(f"http://127.0.0.1:{port}/", process, log, 30) < 30
    finally:
        stop_server(process)


def test_a_child_that_exits_is_named_with_its_log(tmp_path: Path) -> None:
    process, log = _start(tmp_path, "print('port already in use'); raise SystemExit(3)")
    with pytest.raises(RoadmapError, match="prometheus exited with 3:\nport already in use"):
        wait_http(f"http://127.0.0.1:{free_port()}/", process, log, 30, "prometheus")


def test_a_child_that_never_answers_times_out(tmp_path: Path) -> None:
    process, log = _start(tmp_path, "import time; print('loading'); time.sleep(60)")
    try:
        with pytest.raises(RoadmapError, match="the server was not ready after 1 s:\nloading"):
            wait_http(f"http://127.0.0.1:{free_port()}/", process, log, 1.0)
    finally:
        stop_server(process)
