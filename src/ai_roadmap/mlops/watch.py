"""Watching a running prediction service with Prometheus: the phases of ``s5.monitor``.

Each phase talks to the service (:mod:`ai_roadmap.mlops.traffic`) and reads the
result back from Prometheus' HTTP API (:mod:`ai_roadmap.mlops.prometheus`), and
returns its checks (name, passed, what was seen) and figures:

* **up** — the scrape target is ``up == 1``;
* **clean** — one drift window of reference rows: every index below the bar and
  equal to :mod:`ai_roadmap.mlops.drift` on the same rows;
* **load** — a bounded wrk load: the P99 from the recording rule while it runs and
  over exactly its requests, against wrk's P99 and its histogram bucket;
* **drift** — one window of drifted rows: the gauge crosses the bar, the alert fires;
* **gauges** — model version, prediction histogram, canary share, GPU presence;
* **dashboard** — the Grafana panels rendered from Prometheus, screenshotted.

A window is closed exactly before each of the clean and drifted windows (the service
says how many rows its open window holds), so Prometheus' numbers can be compared
with the offline ones to the last bit.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap.mlops import prometheus as prom
from ai_roadmap.mlops.monitoring import window_indices
from ai_roadmap.mlops.traffic import bucket_bounds, fill_window, post_rows, records, wrk_load
from ai_roadmap.serving.quality import FeatureReference


@dataclass(frozen=True)
class Watch:
    """What the phases need to know about the service, the load and the bars."""

    model: str  # the served name
    window: int  # rows per drift window (the service's ROADMAP_MONITOR_WINDOW)
    bins: int  # reference quantile buckets
    seed: int
    bars: prom.RuleBars
    scrape_interval_s: float = 1.0
    timeout_s: float = 20.0  # for a value or an alert to show in Prometheus
    canary_share: float = 0.0  # what the service was started with
    load_seconds: int = 8
    connections: int = 1
    distinct_rows: int = 400
    screenshot_size: tuple[int, int] = (1400, 1900)


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Plan:
    """What the phases share: the reference frame, the schema, the monitored features."""

    train: Any
    schema: dict[str, Any]
    features: list[FeatureReference]
    window: int
    drift: Callable[[Any], Any]  # a frame of reference rows -> the same rows, drifted
    filler: list[dict[str, Any]] = field(default_factory=list)  # clean rows to close a window
    sent: float = 0.0  # rows scored so far, by our count

    def sample(self, seed: int) -> Any:
        """``window`` training rows (with replacement when the window is the larger)."""
        n = self.window
        return self.train.sample(n=n, replace=n > len(self.train), random_state=seed)

    def rows(self, frame: Any) -> list[dict[str, Any]]:
        return records(frame, list(self.schema))


def rule_checks(w: Watch, folder: Path) -> tuple[list[Check], dict[str, float]]:
    """promtool on our rules (check + unit test) and on a broken rule (must fail)."""
    from ai_roadmap.serving.observability import LATENCY_BUCKETS

    prom.write_yaml(folder / "rules.yml", prom.rules(w.bars))
    spec = prom.rules_test(w.bars, "rules.yml", LATENCY_BUCKETS)
    prom.write_yaml(folder / "rules_test.yml", spec)
    prom.write_yaml(folder / "broken_rules.yml", prom.broken_rules())
    rc_check, checked = prom.promtool("check", "rules", "rules.yml", cwd=folder)
    rc_test, tested = prom.promtool("test", "rules", "rules_test.yml", cwd=folder)
    rc_broken, broken = prom.promtool("check", "rules", "broken_rules.yml", cwd=folder)
    rules = sum(len(g["rules"]) for g in prom.rules(w.bars)["groups"])
    cases = len(spec["tests"][0]["alert_rule_test"]) + len(spec["tests"][0]["promql_expr_test"])
    tested_line = f"{cases} cases: " + " ".join(tested.split())
    broken_line = f"exit {rc_broken}: " + (broken.splitlines()[-1] if broken else "")
    checks = [
        Check("promtool_check_rules", rc_check == 0 and "SUCCESS" in checked, _one_line(checked)),
        Check("promtool_test_rules", rc_test == 0 and "SUCCESS" in tested, tested_line),
        Check("broken_rule_fails", rc_broken != 0 and "parse error" in broken, broken_line),
    ]
    return checks, {"rules": float(rules), "promtool_test_cases": float(cases)}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def psi_in_prometheus(prom_url: str, model: str) -> dict[str, float]:
    """Each feature's index as Prometheus holds it now."""
    rows = prom.query(prom_url, f'{prom.PSI}{{model="{model}"}}')
    return {labels["feature"]: value for labels, value in rows}


def wait_indices(
    prom_url: str, model: str, expected: dict[str, float], timeout_s: float
) -> tuple[dict[str, float], float, float]:
    """Wait until Prometheus holds the indices computed offline: (them, max |Δ|, seconds)."""

    def gap(got: dict[str, float]) -> float:
        return max((abs(got.get(k, math.inf) - v) for k, v in expected.items()), default=math.inf)

    got, waited = prom.wait_for(
        lambda: (lambda g: g if gap(g) < 1e-9 else None)(psi_in_prometheus(prom_url, model)),
        timeout_s,
    )
    got = got or psi_in_prometheus(prom_url, model)
    return got, gap(got), waited


def send_window(w: Watch, url: str, plan: Plan, frame: Any) -> tuple[int, dict]:
    """Close the open window with clean rows, then send ``frame`` as exactly one window."""
    plan.sent += fill_window(url, w.model, w.window, plan.filler)
    failed = post_rows(url, w.model, plan.rows(frame))
    plan.sent += len(frame)
    return failed, window_indices(plan.train, frame, plan.features, w.bins)


def clean_phase(w: Watch, url: str, prom_url: str, plan: Plan) -> tuple[list[Check], dict]:
    """One window of training rows: every index below the bar, and equal to the offline one."""
    frame = plan.sample(w.seed + 1)
    failed, expected = send_window(w, url, plan, frame)
    got, diff, waited = wait_indices(prom_url, w.model, expected, w.timeout_s)
    top = max(got.values(), default=math.inf)
    detail = (
        f"{len(frame)} training rows, {failed} non-200; max index {top:.3f} "
        f"(bar {w.bars.psi:g}); in Prometheus after {waited:.1f} s"
    )
    checks = [
        Check("clean_window_below_bar", failed == 0 and top <= w.bars.psi, detail),
        Check("psi_equals_offline_clean", diff < 1e-9, f"max |Δ| {diff:.1e} against mlops.drift"),
    ]
    metrics = {f"clean_{k}": v for k, v in got.items()}
    return checks, metrics | {"psi_max_clean": top, "psi_offline_max_abs_diff_clean": diff}


def load_phase(
    w: Watch, url: str, prom_url: str, plan: Plan, scratch: Path
) -> tuple[list[Check], dict]:
    """A bounded wrk load. Prometheus' P99 from the recording rule 1 s before the load ends
    (reported), and over exactly the load's requests (compared with wrk's P99)."""
    from ai_roadmap.serving.observability import LATENCY_BUCKETS

    rows = plan.rows(plan.sample(w.seed + 3)[: w.distinct_rows])
    seconds = w.load_seconds
    endpoint = f'endpoint="/v1/{w.model}/predict"'
    with wrk_load(f"{url}/v1/{w.model}/predict", rows, seconds, w.connections, scratch) as run:
        time.sleep(max(0.0, run["started"] + seconds - 1.0 - time.time()))
        during = prom.query(prom_url, f"{prom.P99_RULE}{{{endpoint}}}")
        rate = f"sum(rate({prom.REQUESTS}{{{endpoint}}}[{max(2, seconds - 2)}s]))"
        rps = prom.query(prom_url, rate)
    time.sleep(2 * w.scrape_interval_s)  # a scrape after the last request
    whole = prom.quantile_between(prom_url, endpoint, 0.99, run["started"], time.time())
    m = {
        "host_load_1m": os.getloadavg()[0],  # other work on the cores delays wake-ups
        "p99_ms_prometheus_during": during[0][1] * 1000 if during else math.nan,
        "p99_ms_prometheus": whole * 1000,
        "p99_ms_client": run["p99_us"] / 1000,
        "p50_ms_client": run["p50_us"] / 1000,
        "load_requests": run["requests"],
        "rps_client": run["requests"] / (run["duration_us"] / 1e6),
        "rps_prometheus": rps[0][1] if rps else math.nan,
    }
    errors = sum(run[k] for k in ("non_2xx", "connect", "read", "write", "timeout"))
    plan.sent += run["requests"]
    low, high = (1000 * b for b in bucket_bounds(m["p99_ms_client"] / 1000, LATENCY_BUCKETS))
    floor, _ = (1000 * b for b in bucket_bounds(m["p50_ms_client"] / 1000, LATENCY_BUCKETS))
    p99 = m["p99_ms_prometheus"]
    m |= {"p99_bucket_low_ms": low, "p99_bucket_high_ms": high, "load_errors": errors}
    m |= {"p99_diff_ms": p99 - m["p99_ms_client"], "p99_same_bucket": float(low < p99 <= high)}
    detail = (
        f"Prometheus {p99:.3f} ms over the load's requests "
        f"({m['p99_ms_prometheus_during']:.3f} ms from the recording rule {seconds - 1} s into "
        f"it), wrk {m['p99_ms_client']:.3f} ms over {run['requests']:.0f} requests, in the "
        f"bucket ({low:g}, {high:g}] ms: {'the same' if low < p99 <= high else 'not the same'} "
        f"bucket; difference {m['p99_diff_ms']:+.3f} ms. Bound: within [{floor:g}, {high:g}] ms "
        f"(the lower edge of wrk's P50 bucket, the upper edge of its P99 bucket); host load "
        f"{m['host_load_1m']:.1f} on {os.cpu_count()} cores"
    )
    checks = [
        Check("load_answered", run["requests"] > 0 and errors == 0, f"{errors:.0f} errors"),
        # The app's timer sees part of each request wrk times (not the loopback, HTTP parsing,
        # or a wait while the worker is descheduled), so the server's P99 cannot exceed the
        # upper edge of wrk's P99 bucket; on a busy host it can fall below that bucket.
        Check("p99_bounded_by_client", floor <= p99 <= high, detail),
    ]
    return checks, m


def drift_phase(w: Watch, url: str, prom_url: str, plan: Plan) -> tuple[list[Check], dict]:
    """One window of drifted rows: the gauge crosses the bar and the drift alert fires."""
    frame = plan.drift(plan.sample(w.seed + 2))
    sent = time.perf_counter()
    failed, expected = send_window(w, url, plan, frame)
    got, diff, _ = wait_indices(prom_url, w.model, expected, w.timeout_s)
    seen_s = time.perf_counter() - sent
    name = prom.ALERTS[1]

    def states() -> set[str]:
        return prom.alert_states(prom_url).get(name, set())

    active, _ = prom.wait_for(states, w.timeout_s)
    active_s = time.perf_counter() - sent
    firing, _ = prom.wait_for(lambda: "firing" in states(), w.timeout_s)
    firing_s = time.perf_counter() - sent
    series = prom.query(prom_url, f'ALERTS{{alertname="{name}"}}')
    top = max(got.values(), default=0.0)
    over = ", ".join(sorted(k for k, v in got.items() if v > w.bars.psi)) or "none"
    crossed = f"max index {top:.3f} (bar {w.bars.psi:g}), above it: {over}; seen {seen_s:.1f} s"
    alerted = (
        f"{name} {sorted(active or [])} {active_s:.1f} s after the batch, firing: "
        f"{'yes' if firing else 'no'} ({firing_s:.1f} s); {len(series)} ALERTS series"
    )
    checks = [
        Check("drift_batch_accepted", failed == 0, f"{len(frame)} rows, {failed} non-200"),
        Check("psi_gauge_crosses_bar", top > w.bars.psi, crossed),
        Check("psi_alert_fires", bool(active) and len(series) > 0, alerted),
        Check("psi_equals_offline", diff < 1e-9, f"max |Δ| {diff:.1e} against mlops.drift"),
    ]
    metrics = {f"drift_{k}": v for k, v in got.items()}
    metrics |= {"psi_max_drifted": top, "psi_offline_max_abs_diff_drifted": diff}
    metrics |= {"drift_seconds_to_gauge": seen_s, "drift_seconds_to_alert": active_s}
    metrics["drift_seconds_to_firing"] = firing_s if firing else math.nan
    return checks, metrics


def gauge_phase(w: Watch, prom_url: str, plan: Plan) -> tuple[list[Check], dict]:
    """Model version, prediction distribution, canary share and GPU, as Prometheus holds them."""
    from ai_roadmap.serving.gpu import sample_gpus

    model = f'{{model="{w.model}"}}'
    counted = f"roadmap_prediction_probability_count{model}"
    # the last scrape may predate the last request: wait for the count to catch up
    count, _ = prom.wait_for(
        lambda: [r for r in prom.query(prom_url, counted) if r[1] >= plan.sent], 10.0
    )
    scored = (count or prom.query(prom_url, counted) or [({}, 0.0)])[0][1]
    buckets = prom.query(prom_url, f"roadmap_prediction_probability_bucket{model}")
    version = prom.query(prom_url, f"roadmap_model_version{model}")
    canary = [v for _, v in prom.query(prom_url, f"roadmap_canary_share{model}")]
    present = [v for _, v in prom.query(prom_url, "roadmap_gpu_present")]
    util = prom.query(prom_url, "roadmap_gpu_utilization_ratio")
    local = sample_gpus()
    gpu = present[0] if present else math.nan
    honest = gpu == float(local.present) and len(util) == len(local.devices)
    served = version[0][0].get("version", "?") if version else "absent"
    unanswered = scored - plan.sent
    checks = [
        Check("model_version_gauge", len(version) == 1, f'version="{served}"'),
        Check(
            "prediction_distribution",
            len(buckets) == 11 and 0 <= unanswered <= w.connections,
            f"{scored:.0f} probabilities in 11 buckets; {plan.sent:.0f} rows sent (wrk may "
            f"leave up to {w.connections} in flight at its end)",
        ),
        Check(
            "canary_share_gauge",
            canary == [w.canary_share],
            f"roadmap_canary_share {canary} (set {w.canary_share:g})",
        ),
        Check(
            "gpu_reported_honestly",
            honest,
            f"roadmap_gpu_present {gpu:g}; NVML here: {local.reason}; "
            f"{len(util)} utilisation series for {len(local.devices)} device(s)",
        ),
    ]
    metrics = {"model_version": version[0][1] if version else math.nan, "predictions": scored}
    metrics |= {"canary_share": canary[0] if canary else math.nan, "gpu_present": gpu}
    metrics |= {f"gpu{labels.get('gpu', '')}_utilization": v for labels, v in util}
    return checks, metrics


def dashboard_phase(
    w: Watch, prom_url: str, folder: Path, start: float
) -> tuple[list[Check], dict]:
    """The Grafana panels rendered from Prometheus range queries; Chromium's screenshot."""
    from ai_roadmap.mlops.dashboard import blankness, render_dashboard, screenshot

    thresholds = {
        "P99 latency by endpoint (recording rule)": w.bars.p99_s,
        "Feature drift: PSI / CSI of the last window": w.bars.psi,
        "5xx share by endpoint": w.bars.error_rate,
    }
    time.sleep(2 * w.scrape_interval_s)  # the last scrape and rule evaluation land in the span
    span = (start, time.time(), w.scrape_interval_s)
    page = folder / "dashboard.html"
    panels = render_dashboard(prom_url, page, span, w.bars.rate_window, thresholds)
    png = screenshot(page, folder / "dashboard.png", w.screenshot_size)
    std, colours = blankness(png)
    drawn = sum(p.series > 0 for p in panels)
    empty = ", ".join(p.title for p in panels if p.series == 0) or "none"
    size = f"{w.screenshot_size[0]}×{w.screenshot_size[1]}"
    checks = [
        Check(
            "dashboard_panels_have_data",
            drawn == len(panels),
            f"{drawn} of {len(panels)}; empty: {empty}",
        ),
        Check(
            "screenshot_not_blank",
            std > 5 and colours > 50,
            f"{png.name} {size}: grey-level std {std:.1f}, {colours} distinct colours",
        ),
    ]
    metrics = {"dashboard_panels": float(len(panels)), "dashboard_panels_with_data": float(drawn)}
    return checks, metrics | {"screenshot_grey_std": std, "screenshot_colours": float(colours)}


def observe(
    w: Watch, url: str, folder: Path, plan: Plan, scratch: Path
) -> tuple[list[Check], dict[str, float]]:
    """Prometheus over the running service: up, clean window, load, drift, gauges, dashboard."""
    config = prom.scrape_config(url.removeprefix("http://"), w.scrape_interval_s, ["rules.yml"])
    prom.write_yaml(folder / "prometheus.yml", config)
    rc, text = prom.promtool("check", "config", "prometheus.yml", cwd=folder)
    checks = [Check("promtool_check_config", rc == 0, _one_line(text))]
    metrics: dict[str, float] = {}
    with prom.running_prometheus(folder / "prometheus.yml") as prom_url:
        start = time.time()
        up, waited = prom.wait_for(
            lambda: [v for _, v in prom.query(prom_url, 'up{job="roadmap"}') if v == 1], 30.0
        )
        checks.append(Check("scraped_up", bool(up), f"up == 1 after {waited:.1f} s"))
        metrics |= {"up": 1.0 if up else 0.0, "seconds_to_up": waited}
        phases = [
            lambda: clean_phase(w, url, prom_url, plan),
            lambda: load_phase(w, url, prom_url, plan, scratch),
            lambda: drift_phase(w, url, prom_url, plan),
            lambda: gauge_phase(w, prom_url, plan),
        ]
        for phase in phases:
            found, m = phase()
            checks += found
            metrics |= m
        errors = [v for _, v in prom.query(prom_url, prom.ERROR_RULE) if not math.isnan(v)]
        metrics["error_ratio_max"] = max(errors, default=math.nan)
        states = prom.alert_states(prom_url)
        metrics |= {f"alert_{k}": float(bool(states.get(k))) for k in prom.ALERTS}
        found, m = dashboard_phase(w, prom_url, folder, start)
    return checks + found, metrics | m
