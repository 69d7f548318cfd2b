"""Traffic for a monitored service: request rows, batches, the metrics page, a wrk load over rows.

What the monitoring milestone (and its tests) send to a running prediction service:
rows of a frame as JSON bodies, posted in batches to ``/v1/<model>/predict/batch``;
the service's own ``/metrics`` read back (to close a drift window exactly: the
gauge ``roadmap_drift_window_pending_rows`` says how many rows the open window
holds); and a bounded ``wrk`` run that cycles through many distinct rows, so the
drift window under load sees the training distribution rather than one row
repeated. wrk's latency is taken on the client: it includes the loopback, HTTP
parsing and any wait before the app's own timer starts.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHUNK = 250  # rows per batch request (≤ the service's default max batch, 256)


def records(frame: Any, columns: list[str]) -> list[dict[str, Any]]:
    """Rows as JSON request bodies: the given columns, NaN → null, NumPy scalars → Python."""
    rows = []
    for row in frame[columns].itertuples(index=False):
        rows.append({k: _json_value(v) for k, v in zip(columns, row, strict=True)})
    return rows


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def post_rows(url: str, model: str, rows: list[dict[str, Any]], chunk: int = CHUNK) -> int:
    """POST rows to the model's batch route in chunks; the number of non-200 answers."""
    failed = 0
    for start in range(0, len(rows), chunk):
        body = json.dumps({"records": rows[start : start + chunk]}).encode()
        request = urllib.request.Request(
            f"{url}/v1/{model}/predict/batch", body, {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                failed += response.status != 200
        except urllib.error.HTTPError:
            failed += 1
    return failed


def scrape(url: str) -> dict[str, float]:
    """The service's ``/metrics`` as ``{'name{label=value,…}': value}`` (labels sorted)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def fill_window(url: str, model: str, window: int, filler: list[dict[str, Any]]) -> int:
    """Complete the open drift window with ``filler`` rows so the next starts empty; rows sent."""
    pending = int(scrape(url).get(f"roadmap_drift_window_pending_rows{{model={model}}}", 0))
    if not pending:
        return 0
    post_rows(url, model, filler[: window - pending])
    return window - pending


def wrk_rows_script(rows: list[dict[str, Any]]) -> str:
    """Lua for wrk: POST the rows in turn as JSON; print wrk's summary as one JSON line."""
    from ai_roadmap.serving.wrk import _WRK_DONE

    if any("]==]" in json.dumps(r) for r in rows):
        raise ValueError("a row may not contain the Lua long-string closer ]==]")
    bodies = ",\n".join(f"[==[{json.dumps(r)}]==]" for r in rows)
    return (
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"bodies = {{\n{bodies}\n}}\ncounter = 0\n"
        "request = function()\n  counter = counter + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])\nend\n" + _WRK_DONE
    )


@contextmanager
def wrk_load(
    url: str, rows: list[dict[str, Any]], seconds: int, connections: int, scratch: Path
) -> Iterator[dict[str, Any]]:
    """Start wrk in the background (its own process group); the block runs while it loads.

    Yields a dict with ``started`` (Unix time); after the block, wrk is waited for
    and its summary (``requests``, ``p50_us``, ``p99_us``, errors…) is added to it.
    """
    from ai_roadmap.serving.server import stop_server
    from ai_roadmap.serving.wrk import parse_wrk, wrk_binary

    script = scratch / "load.lua"
    script.write_text(wrk_rows_script(rows))
    command = [
        wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds}s",
        "--timeout", "10s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    state: dict[str, Any] = {"started": time.time()}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield state
        output, _ = process.communicate(timeout=seconds + 60)
        state |= parse_wrk(output.decode(errors="replace"))
    finally:
        stop_server(process)


def bucket_bounds(value: float, edges: tuple[float, ...]) -> tuple[float, float]:
    """The (lower, upper] edges of the histogram bucket that holds ``value``."""
    lower = 0.0
    for edge in edges:
        if value <= edge:
            return lower, edge
        lower = edge
    return lower, math.inf
