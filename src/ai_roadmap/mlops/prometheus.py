"""Prometheus and promtool: scrape config, recording and alert rules, their tests, the HTTP API.

Recording rule — the P99 request latency per endpoint from the service's histogram:

    roadmap:http_request_duration_seconds:p99 =
        histogram_quantile(0.99, sum by (le, endpoint) (rate(…_bucket[w])))

``histogram_quantile`` finds the bucket holding rank 0.99·N and interpolates
linearly inside it, so the estimate always lies within the bounds of the bucket
that holds the true P99: its error is at most that bucket's width.

Alerts: ``RoadmapLatencyP99High`` (the P99 above the bar), ``RoadmapFeatureDrift``
(any feature's PSI/CSI above 0.25, the "act" band of :mod:`ai_roadmap.mlops.drift`)
and ``RoadmapErrorRateHigh`` (the share of 5xx answers above the bar). The rules
are written from :class:`RuleBars`, checked with ``promtool check rules`` and
exercised with ``promtool test rules`` on synthetic series built from the same
bars, before a real ``prometheus`` evaluates them against a running service.

The server is the Debian ``prometheus`` package (with ``promtool``), listening on
127.0.0.1 and a free port, with a temporary TSDB, in its own process group.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError

P99_RULE = "roadmap:http_request_duration_seconds:p99"
ERROR_RULE = "roadmap:http_error_ratio"
ALERTS = ("RoadmapLatencyP99High", "RoadmapFeatureDrift", "RoadmapErrorRateHigh")
LATENCY = "roadmap_http_request_duration_seconds"
REQUESTS = "roadmap_http_requests_total"
PSI = "roadmap_feature_psi"


def binary(name: str) -> str:
    """``prometheus`` or ``promtool``, or a one-line error naming the Debian package."""
    found = shutil.which(name)
    if found is None:
        raise RoadmapError(f"{name} is not installed; run `apt-get install -y prometheus`")
    return found


@dataclass(frozen=True)
class RuleBars:
    """The alert thresholds and the windows the rules use."""

    p99_s: float = 0.05  # latency bar, seconds
    psi: float = 0.25  # the drift "act" band
    error_rate: float = 0.05  # share of 5xx answers
    rate_window: str = "10s"  # rate() window: at least 4 scrapes wide
    p99_for: str = "5s"
    psi_for: str = "1s"
    error_for: str = "5s"

    def __post_init__(self) -> None:
        if self.p99_s <= 0 or not 0 < self.error_rate < 1 or self.psi <= 0:
            raise ValueError("bars: p99_s > 0, 0 < error_rate < 1 and psi > 0")


# ── configuration and rules ──────────────────────────────────────────────────────────


def rules(bars: RuleBars) -> dict[str, Any]:
    """The recording and alerting rule groups (``evaluation_interval`` comes from the server)."""
    w = bars.rate_window
    every = f"sum by (endpoint) (rate({REQUESTS}[{w}]))"
    # "or … * 0": an endpoint without any 5xx series has a ratio of 0, not no ratio at all
    errors = f'sum by (endpoint) (rate({REQUESTS}{{status=~"5.."}}[{w}]))'
    error_ratio = f"({errors} or {every} * 0) / {every}"
    recording = [
        {
            "record": P99_RULE,
            "expr": "histogram_quantile(0.99, "
            f"sum by (le, endpoint) (rate({LATENCY}_bucket[{w}])))",
        },
        {"record": ERROR_RULE, "expr": error_ratio},
    ]
    alerting = [
        _alert(
            ALERTS[0], f"{P99_RULE} > {bars.p99_s:g}", bars.p99_for, f"P99 above {bars.p99_s:g} s"
        ),
        _alert(ALERTS[1], f"{PSI} > {bars.psi:g}", bars.psi_for, f"PSI above {bars.psi:g}"),
        _alert(
            ALERTS[2],
            f"{ERROR_RULE} > {bars.error_rate:g}",
            bars.error_for,
            f"5xx share above {bars.error_rate:g}",
        ),
    ]
    return {
        "groups": [
            {"name": "roadmap-recording", "rules": recording},
            {"name": "roadmap-alerts", "rules": alerting},
        ]
    }


def _alert(name: str, expr: str, for_: str, summary: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": "page"},
        "annotations": {"summary": summary},
    }


def scrape_config(target: str, interval_s: float, rule_files: list[str]) -> dict[str, Any]:
    """One job, ``roadmap``, scraping ``host:port/metrics`` every ``interval_s`` seconds."""
    every = f"{interval_s:g}s"
    return {
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "rule_files": rule_files,
        "scrape_configs": [
            {
                "job_name": "roadmap",
                "scrape_interval": every,
                "scrape_timeout": every,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [target]}],
            }
        ],
    }


def write_yaml(path: Path, payload: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(payload, sort_keys=False), encoding="utf-8")
    return path


# ── promtool ─────────────────────────────────────────────────────────────────────────


def promtool(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    """Run ``promtool`` with ``args``; its exit status and what it printed."""
    done = subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def broken_rules() -> dict[str, Any]:
    """A rule whose PromQL does not parse (an unclosed parenthesis): ``check rules`` must fail."""
    expr = f"histogram_quantile(0.99, sum by (le) (rate({LATENCY}_bucket[1m]))"
    return {"groups": [{"name": "broken", "rules": [{"record": "roadmap:broken", "expr": expr}]}]}


def rules_test(bars: RuleBars, rules_file: str, buckets: tuple[float, ...]) -> dict[str, Any]:
    """A ``promtool test rules`` file: synthetic series on either side of every bar.

    ``/slow`` puts every request in the first bucket whose lower edge is at or
    above the latency bar (so its P99 is above it), ``/fast`` in the first bucket
    (below it); ``/v1/m/predict`` answers 5xx at twice the error bar, ``/ok`` never;
    feature ``drifted`` jumps above the PSI bar at 10 s, ``stable`` stays below.
    Expected: no alert at 5 s; at 30 s exactly the slow, erroring and drifted alerts,
    and the recorded P99s where ``histogram_quantile`` interpolates them.
    """
    edges = list(buckets)
    slow = next((k for k in range(1, len(edges)) if edges[k - 1] >= bars.p99_s), None)
    if slow is None or edges[0] >= bars.p99_s:
        raise ValueError(f"the latency buckets {edges} cannot straddle the bar {bars.p99_s:g} s")
    series = []
    for endpoint, first in (("/slow", slow), ("/fast", 0)):
        for k, le in enumerate([*map(str, edges), "+Inf"]):
            rising = k >= first
            series.append(
                {
                    "series": f'{LATENCY}_bucket{{endpoint="{endpoint}",le="{le}"}}',
                    "values": "0+10x60" if rising else "0x60",
                }
            )
    bad = min(0.9, 2 * bars.error_rate)
    for endpoint, share in (("/v1/m/predict", bad), ("/ok", 0.0)):
        for status, per_s in (("200", 1000 * (1 - share)), ("500", 1000 * share)):
            labels = f'endpoint="{endpoint}",method="POST",status="{status}"'
            series.append({"series": f"{REQUESTS}{{{labels}}}", "values": f"0+{per_s:g}x60"})
    for feature, values in (("drifted", f"0.05x9 {bars.psi + 0.3:g}x50"), ("stable", "0.05x60")):
        labels = f'model="m",feature="{feature}",statistic="PSI"'
        series.append({"series": f"{PSI}{{{labels}}}", "values": values})
    page = {"severity": "page"}
    expected = [
        (ALERTS[0], {"endpoint": "/slow"}, f"P99 above {bars.p99_s:g} s"),
        (
            ALERTS[1],
            {"model": "m", "feature": "drifted", "statistic": "PSI"},
            f"PSI above {bars.psi:g}",
        ),
        (ALERTS[2], {"endpoint": "/v1/m/predict"}, f"5xx share above {bars.error_rate:g}"),
    ]
    p99_slow = edges[slow - 1] + (edges[slow] - edges[slow - 1]) * 0.99
    return {
        "rule_files": [rules_file],
        "evaluation_interval": "1s",
        "tests": [
            {
                "interval": "1s",
                "input_series": series,
                "alert_rule_test": [
                    *({"eval_time": "5s", "alertname": name, "exp_alerts": []} for name in ALERTS),
                    *(
                        {
                            "eval_time": "30s",
                            "alertname": name,
                            "exp_alerts": [
                                {
                                    "exp_labels": {**labels, **page},
                                    "exp_annotations": {"summary": text},
                                }
                            ],
                        }
                        for name, labels, text in expected
                    ),
                ],
                "promql_expr_test": [
                    {
                        "expr": P99_RULE,
                        "eval_time": "30s",
                        "exp_samples": [
                            {"labels": f'{P99_RULE}{{endpoint="/fast"}}', "value": edges[0] * 0.99},
                            {"labels": f'{P99_RULE}{{endpoint="/slow"}}', "value": p99_slow},
                        ],
                    }
                ],
            }
        ],
    }


# ── the server ───────────────────────────────────────────────────────────────────────


@contextmanager
def running_prometheus(config: Path, ready_timeout_s: float = 30.0) -> Iterator[str]:
    """Start ``prometheus`` on 127.0.0.1 with a temporary TSDB; yields its base URL."""
    import os

    from ai_roadmap.serving.server import HOST, free_port, stop_server, wait_http

    with tempfile.TemporaryDirectory(prefix="roadmap-prometheus-") as scratch:
        port = free_port()
        command = [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={scratch}/tsdb",
            f"--web.listen-address={HOST}:{port}",
            "--storage.tsdb.retention.time=1h",
            "--log.level=warn",
        ]
        log = Path(scratch) / "prometheus.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                cwd=scratch,
                env=dict(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            url = f"http://{HOST}:{port}"
            wait_http(f"{url}/-/ready", process, log, ready_timeout_s, "prometheus")
            yield url
        finally:
            stop_server(process)


def api(url: str, path: str, **params: Any) -> Any:
    """GET ``/api/v1/<path>``; the ``data`` of a successful answer."""
    query = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{url}/api/v1/{path}?{query}", timeout=10) as response:
        payload = json.loads(response.read())
    if payload.get("status") != "success":
        raise RoadmapError(f"prometheus {path}: {payload.get('error', payload)}")
    return payload["data"]


def query(url: str, promql: str) -> list[tuple[dict[str, str], float]]:
    """An instant query: (labels, value) per series."""
    data = api(url, "query", query=promql)
    return [(row["metric"], float(row["value"][1])) for row in data["result"]]


def query_range(
    url: str, promql: str, start: float, end: float, step_s: float
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """A range query: (labels, [(unix time, value)]) per series."""
    data = api(url, "query_range", query=promql, start=start, end=end, step=f"{step_s:g}s")
    return [
        (row["metric"], [(float(t), float(v)) for t, v in row["values"]]) for row in data["result"]
    ]


def quantile_between(url: str, selector: str, q: float, start: float, end: float) -> float:
    """The ``q`` quantile of the latency histogram's increments between two instants.

    ``bucket @ end - bucket @ start`` is the exact count added to each bucket by
    the scrapes in between (no ``rate`` extrapolation), so the quantile covers
    the same requests as a client that ran in between.
    """
    b = f"{LATENCY}_bucket{{{selector}}}"
    after, before = f"{b} @ {end:.3f}", f"{b} @ {start:.3f}"
    # "or … * 0": a series first scraped after ``start`` counts from zero
    promql = f"histogram_quantile({q}, sum by (le) ({after} - ({before} or {after} * 0)))"
    rows = query(url, promql)
    return rows[0][1] if rows else math.nan


def alert_states(url: str) -> dict[str, set[str]]:
    """``/api/v1/alerts``: alert name → the states of its active instances (pending, firing)."""
    found: dict[str, set[str]] = {}
    for alert in api(url, "alerts")["alerts"]:
        found.setdefault(alert["labels"]["alertname"], set()).add(alert["state"])
    return found


def wait_for(
    probe: Any, timeout_s: float, every_s: float = 0.25
) -> tuple[Any, float] | tuple[None, float]:
    """Call ``probe()`` until it returns something truthy; (that value, seconds waited)."""
    started = time.perf_counter()
    while True:
        value = probe()
        waited = time.perf_counter() - started
        if value or waited > timeout_s:
            return (value or None), waited
        time.sleep(every_s)
