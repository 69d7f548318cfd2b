"""Real servers on 127.0.0.1 and the load on them: our server, LitServe, and the grid of runs.

Each server is a child process in its own process group on free ports, waited for
(``/readyz``, or LitServe's ``/health``) and always stopped by killing the group.
Load comes from :mod:`ai_roadmap.serving.deep.client` in a separate process, so
the generator's CPU is measured apart from the server's. :func:`latency_batch1`
times one image in-process, eager against ONNX Runtime, with no server in between.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.deep.client import LoadResult
from ai_roadmap.serving.deep.server import HOST, ServerSpec
from ai_roadmap.serving.server import free_port, stop_server, wait_http


@contextmanager
def _child(command: list[str], scratch: Path, name: str) -> Iterator[tuple[Any, Path]]:
    log = scratch / f"{name}.log"
    # both servers get passive OpenMP workers (see server.passive_threads), LitServe too
    env = os.environ | {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killpg stops it and its children
        )
    try:
        yield process, log
    finally:
        stop_server(process)


@dataclass
class Running:
    """A started server: its spec (ports filled in), REST URL, gRPC target, seconds to ready."""

    spec: ServerSpec
    url: str
    grpc: str
    ready_s: float

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/v1/stats", timeout=5) as response:
            return dict(json.loads(response.read()))


@contextmanager
def image_server(
    spec: ServerSpec, scratch: Path, ready_timeout_s: float = 180.0
) -> Iterator[Running]:
    """Our server (REST + gRPC) for ``spec`` on free ports of 127.0.0.1."""
    spec = replace(spec, host=HOST, rest_port=free_port(), grpc_port=free_port())
    name = f"server-{spec.runtime}-b{spec.batching.max_batch_size}-{spec.rest_port}"
    path = scratch / f"{name}.json"
    path.write_text(spec.to_json())
    command = [sys.executable, "-m", "ai_roadmap.serving.deep.server", "--spec", str(path)]
    with _child(command, scratch, name) as (process, log):
        url = f"http://{HOST}:{spec.rest_port}"
        ready = wait_http(f"{url}/readyz", process, log, ready_timeout_s)
        yield Running(spec, url, f"{HOST}:{spec.grpc_port}", ready)


@contextmanager
def litserve_server(
    folder: Path, threads: int, max_batch_size: int, delay_ms: float, scratch: Path,
    ready_timeout_s: float = 180.0,
) -> Iterator[str]:  # fmt: skip
    """LitServe over the same model folder; yields its base URL (``POST /predict``)."""
    port = free_port()
    command = [
        sys.executable, "-m", "ai_roadmap.serving.deep.litserve_app",
        "--folder", str(folder), "--port", str(port), "--threads", str(threads),
        "--max-batch-size", str(max_batch_size), "--batch-timeout-s", str(delay_ms / 1000),
    ]  # fmt: skip
    with _child(command, scratch, f"litserve-{port}") as (process, log):
        url = f"http://{HOST}:{port}"
        wait_http(f"{url}/health", process, log, ready_timeout_s)
        yield url


def run_load(job: dict[str, Any], images: Path, scratch: Path) -> LoadResult:
    """One closed-loop run in a fresh client process (see ``client.main``)."""
    path = scratch / "job.json"
    path.write_text(json.dumps(job | {"images": str(images)}))
    command = [sys.executable, "-m", "ai_roadmap.serving.deep.client", "--job", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=job["duration_s"] + 120)
    if done.returncode != 0:
        raise RoadmapError(f"the load generator failed: {done.stderr.strip().splitlines()[-1:]}")
    return LoadResult(**json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass
class Cell:
    """One row of the table: which server, runtime, batching and protocol, and what it did."""

    server: str  # roadmap | litserve
    runtime: str  # eager | onnx
    batched: bool
    protocol: str  # rest | grpc
    concurrency: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    generator_cores: float
    mean_batch_size: float

    @property
    def key(self) -> str:
        """``rest_eager_batched_c16``, ``litserve_c16``: the metric name stem."""
        if self.server == "litserve":
            return f"litserve_c{self.concurrency}"
        mode = "batched" if self.batched else "unbatched"
        return f"{self.protocol}_{self.runtime}_{mode}_c{self.concurrency}"


def load_cells(
    running: Running | str,
    label: tuple[str, str, bool],
    protocols: list[str],
    concurrency: list[int],
    load: dict[str, Any],
    images: Path,
    scratch: Path,
) -> list[Cell]:
    """Every (protocol, concurrency) run against one started server."""
    server, runtime, batched = label
    cells = []
    for protocol in protocols:
        for n in concurrency:
            before = running.stats() if isinstance(running, Running) else None
            if isinstance(running, Running):
                target = running.url if protocol == "rest" else running.grpc
                model = running.spec.models[0].name
                job = {"protocol": protocol, "target": target, "model": model}
            else:
                job = {"protocol": "rest", "target": running, "path": "/predict"}
            result = run_load(job | {"concurrency": n} | load, images, scratch)
            mean = float("nan")
            if before is not None and isinstance(running, Running):
                (_name, b), (_, a) = next(iter(before.items())), next(iter(running.stats().items()))
                rows, batches = a["rows"] - b["rows"], a["batches"] - b["batches"]
                mean = rows / batches if batches else float("nan")
            cells.append(
                Cell(
                    server,
                    runtime,
                    batched,
                    result.protocol,
                    n,
                    result.rps,
                    result.p50_ms,
                    result.p99_ms,
                    result.errors,
                    result.requests,
                    result.generator_cores,
                    mean,
                )
            )
    return cells


def latency_batch1(runtime: Any, image: np.ndarray, repeats: int) -> float:
    """Median ms of ``runtime.predict`` on one image, after 5 warm-up calls."""
    x = image[None].astype(np.float32)
    for _ in range(5):
        runtime.predict(x)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        runtime.predict(x)
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def markdown(cells: list[Cell]) -> str:
    columns = ["server", "runtime", "batched", "protocol", "concurrency", "rps", "p50_ms"]
    columns += ["p99_ms", "errors", "mean_batch_size", "generator_cores"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for cell in cells:
        row = asdict(cell)
        lines.append(
            "| "
            + " | ".join(
                f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c]) for c in columns
            )
            + " |"
        )
    return "\n".join(lines) + "\n"
