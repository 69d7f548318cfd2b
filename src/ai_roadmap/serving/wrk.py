"""The load generator: ``wrk`` (Debian package ``wrk``), driven from a second process.

wrk runs for a bounded time over a bounded number of connections; a small Lua
script sets the POST body and prints wrk's own summary as one JSON line.

wrk is a closed loop: each connection sends its next request when the previous
answer arrives, so with ``c`` connections the mean latency is about
``c / throughput`` (Little's law, ``L = λ W``) and a slow server is offered less
load than an open-loop client would offer it (coordinated omission).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile

from ai_roadmap.errors import RoadmapError

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
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration_s + 60, check=False
        )
    finally:
        os.unlink(script)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RoadmapError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    stats = parse_wrk(done.stdout)
    # the load generator's own CPU time (user + system): it shares the cores with the server
    stats["generator_cpu_s"] = (after.ru_utime - before.ru_utime) + (
        after.ru_stime - before.ru_stime
    )
    return stats
