"""s5.monitor — the prediction service watched by a real Prometheus: drift, latency, alerts, GPU.

1. The model: the registry's ``s0.titanic`` ``@champion`` (trained here at smoke
   through the runner when there is none, and named as such), or with
   ``model.source=stand-in`` (smoke) a logistic regression fitted here on the
   Titanic training passengers. Beside it: the drift reference summary of its
   training data (:mod:`ai_roadmap.mlops.monitoring`).
2. The rules (:mod:`ai_roadmap.mlops.prometheus`): ``promtool check rules`` on
   ours and on a deliberately broken rule, ``promtool test rules`` on synthetic
   series around every bar.
3. The service (Gunicorn, a real child process) and Debian's ``prometheus``
   scraping it every second, both on 127.0.0.1.
4. One clean window of training rows; a bounded ``wrk`` load during which the P99
   is read from Prometheus' HTTP API and set beside wrk's own P99; one window of
   drifted rows, after which the PSI gauge and the drift alert must rise.
5. The dashboard: the panels of the shipped Grafana JSON rendered from
   Prometheus range queries into HTML, screenshotted by headless Chromium.

``checks_failed`` is the catalog's target; every figure is in the metrics and notes.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.mlops import prometheus as prom
from ai_roadmap.mlops.monitoring import FeatureReference, window_indices
from ai_roadmap.mlops.traffic import bucket_bounds, fill_window, post_rows, records, wrk_load
from ai_roadmap.result import Result

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig

NAME = "titanic"  # the served name of s0.titanic
STAND_IN_COLUMNS = ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"]


@dataclass(frozen=True)
class ModelSource:
    source: str = "registry"  # registry (@champion, else trained at smoke) | stand-in
    bins: int = 10  # reference quantile buckets per numeric feature
    exclude: list[str] = field(default_factory=lambda: ["PassengerId"])  # not features

    def __post_init__(self) -> None:
        if self.source not in ("registry", "stand-in"):
            raise ValueError("model.source must be registry or stand-in")
        if self.bins < 2:
            raise ValueError("model.bins must be at least 2")


@dataclass(frozen=True)
class Service:
    workers: int = 1  # one worker: one drift window (each worker keeps its own)
    window: int = 500  # rows per PSI window
    canary_share: float = 0.0  # what the canary gauge reads until a router sets it
    ready_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if self.window < 50 or self.workers < 1 or not 0 <= self.canary_share <= 1:
            raise ValueError("service: window ≥ 50, workers ≥ 1, 0 ≤ canary_share ≤ 1")


@dataclass(frozen=True)
class Load:
    duration_s: float = 8.0  # wrk's run; the P99 is queried 1 s before it ends
    connections: int = 1  # closed loop; more connections queue inside the server
    distinct_rows: int = 400  # training rows the wrk script cycles through

    def __post_init__(self) -> None:
        if self.duration_s < 3 or self.connections < 1 or self.distinct_rows < 1:
            raise ValueError("load: duration_s ≥ 3, connections ≥ 1, distinct_rows ≥ 1")


@dataclass(frozen=True)
class Drift:
    age_shift: float = 30.0  # years added to every age (clipped to the schema's range)
    fare_scale: float = 4.0  # fares multiplied (clipped to the schema's range)
    sex: str = "female"  # every passenger
    timeout_s: float = 20.0  # for the gauge and the alert to show in Prometheus


@dataclass(frozen=True)
class Config:
    seed: int = 0
    output_dir: str = "."
    scrape_interval_s: float = 1.0
    model: ModelSource = field(default_factory=ModelSource)
    service: Service = field(default_factory=Service)
    load: Load = field(default_factory=Load)
    drift: Drift = field(default_factory=Drift)
    bars: prom.RuleBars = field(default_factory=prom.RuleBars)
    window_size: list[int] = field(default_factory=lambda: [1400, 1900])  # the screenshot


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


# ── the model and its reference ──────────────────────────────────────────────────────


def stand_in(folder: Path, train: pd.DataFrame) -> str:
    """A logistic regression on the Titanic training passengers, saved as a service folder."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model
    from ai_roadmap.serving.fast.compile import export_fast_path

    frame = train[STAND_IN_COLUMNS]
    numbers = [c for c in frame if pd.api.types.is_numeric_dtype(frame[c])]
    categories = [c for c in frame if c not in numbers]
    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
            ("cat", encode, categories),
        ]
    )
    y = train["Survived"].to_numpy(int)
    model = make_pipeline(columns, LogisticRegression(max_iter=500)).fit(frame, y)
    card = ModelCard("s0.titanic", "classification", "Survived", infer_input_schema(frame))
    card.metrics, card.classes = {"train_accuracy": float(model.score(frame, y))}, [0, 1]
    save_model(model, folder, card)
    (folder / "VERSION").write_text("stand-in\n")
    path = export_fast_path(folder)
    return (
        f"stand-in for s0.titanic: logistic regression on the 891 Titanic training passengers "
        f"({', '.join(STAND_IN_COLUMNS)}), training accuracy {card.metrics['train_accuracy']:.3f}, "
        f"served through the {path} path (not the registry's model)"
    )


def registry_model(models: Path) -> str:
    """Export the registry's s0.titanic champion; train one at smoke first when there is none."""
    from ai_roadmap.runner import run_milestone
    from ai_roadmap.serving.export import export_champions
    from ai_roadmap.settings import get_settings

    settings = get_settings().model_copy(update={"serve_model_dir": models})
    origin = "the registry's s0.titanic @champion"
    try:
        version = export_champions(settings, [NAME])[NAME]
    except RoadmapError:
        report = run_milestone("s0.titanic", "smoke", settings=get_settings())
        version = export_champions(settings, [NAME])[NAME]
        origin = (
            f"s0.titanic trained here at smoke through the runner (no champion existed; "
            f"MLflow run {report.mlflow_run_id}, verdict {report.verdict})"
        )
    return f"{origin}, version {version}"


def drifted(frame: pd.DataFrame, schema: dict[str, Any], d: Drift) -> pd.DataFrame:
    """Older passengers, dearer fares, one sex — clipped to the ranges the service accepts."""
    out = frame.copy()
    for column, change in (
        ("Age", lambda s: s + d.age_shift),
        ("Fare", lambda s: s * d.fare_scale),
    ):
        if column in schema:
            spec = schema[column]
            out[column] = change(out[column]).clip(spec["min"], spec["max"])
    if "Sex" in schema:
        out["Sex"] = d.sex
    return out


# ── the phases ───────────────────────────────────────────────────────────────────────


@dataclass
class Plan:
    """What the phases share: the reference frame, the schema, the monitored features."""

    train: pd.DataFrame
    schema: dict[str, Any]
    features: list[FeatureReference]
    window: int
    filler: list[dict[str, Any]] = field(default_factory=list)  # clean rows to close a window
    sent: float = 0.0  # rows scored so far, by our count

    def sample(self, seed: int) -> pd.DataFrame:
        """``window`` training rows (with replacement when the window is the larger)."""
        n = self.window
        return self.train.sample(n=n, replace=n > len(self.train), random_state=seed)

    def rows(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        return records(frame, list(self.schema))


def rule_checks(c: Config, folder: Path) -> tuple[list[Check], dict[str, float]]:
    """promtool on our rules (check + unit test) and on a broken rule (must fail)."""
    from ai_roadmap.serving.observability import LATENCY_BUCKETS

    prom.write_yaml(folder / "rules.yml", prom.rules(c.bars))
    spec = prom.rules_test(c.bars, "rules.yml", LATENCY_BUCKETS)
    prom.write_yaml(folder / "rules_test.yml", spec)
    prom.write_yaml(folder / "broken_rules.yml", prom.broken_rules())
    rc_check, checked = prom.promtool("check", "rules", "rules.yml", cwd=folder)
    rc_test, tested = prom.promtool("test", "rules", "rules_test.yml", cwd=folder)
    rc_broken, broken = prom.promtool("check", "rules", "broken_rules.yml", cwd=folder)
    rules = sum(len(g["rules"]) for g in prom.rules(c.bars)["groups"])
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


def psi_in_prometheus(prom_url: str) -> dict[str, float]:
    return {m["feature"]: v for m, v in prom.query(prom_url, f'{prom.PSI}{{model="{NAME}"}}')}


def wait_indices(
    prom_url: str, expected: dict[str, float], timeout_s: float
) -> tuple[dict[str, float], float, float]:
    """Wait until Prometheus holds the indices computed offline: (them, max |Δ|, seconds)."""

    def gap(got: dict[str, float]) -> float:
        return max((abs(got.get(k, math.inf) - v) for k, v in expected.items()), default=math.inf)

    got, waited = prom.wait_for(
        lambda: (lambda g: g if gap(g) < 1e-9 else None)(psi_in_prometheus(prom_url)), timeout_s
    )
    got = got or psi_in_prometheus(prom_url)
    return got, gap(got), waited


def send_window(c: Config, url: str, plan: Plan, frame: pd.DataFrame) -> tuple[int, dict]:
    """Close the open window with clean rows, then send ``frame`` as exactly one window."""
    plan.sent += fill_window(url, NAME, c.service.window, plan.filler)
    failed = post_rows(url, NAME, plan.rows(frame))
    plan.sent += len(frame)
    return failed, window_indices(plan.train, frame, plan.features, c.model.bins)


def clean_phase(c: Config, url: str, prom_url: str, plan: Plan) -> tuple[list[Check], dict]:
    """One window of training rows: every index below the bar, and equal to the offline one."""
    frame = plan.sample(c.seed + 1)
    failed, expected = send_window(c, url, plan, frame)
    got, diff, waited = wait_indices(prom_url, expected, c.drift.timeout_s)
    top = max(got.values(), default=math.inf)
    detail = (
        f"{len(frame)} training rows, {failed} non-200; max index {top:.3f} "
        f"(bar {c.bars.psi:g}); in Prometheus after {waited:.1f} s"
    )
    checks = [
        Check("clean_window_below_bar", failed == 0 and top <= c.bars.psi, detail),
        Check("psi_equals_offline_clean", diff < 1e-9, f"max |Δ| {diff:.1e} against mlops.drift"),
    ]
    metrics = {f"clean_{k}": v for k, v in got.items()}
    return checks, metrics | {"psi_max_clean": top, "psi_offline_max_abs_diff_clean": diff}


def load_phase(
    c: Config, url: str, prom_url: str, plan: Plan, scratch: Path
) -> tuple[list[Check], dict]:
    """A bounded wrk load. Prometheus' P99 from the recording rule 1 s before the load ends
    (reported), and over exactly the load's requests (compared with wrk's P99)."""
    from ai_roadmap.serving.observability import LATENCY_BUCKETS

    rows = plan.rows(plan.sample(c.seed + 3)[: c.load.distinct_rows])
    seconds = round(c.load.duration_s)
    endpoint = f'endpoint="/v1/{NAME}/predict"'
    with wrk_load(f"{url}/v1/{NAME}/predict", rows, seconds, c.load.connections, scratch) as run:
        time.sleep(max(0.0, run["started"] + seconds - 1.0 - time.time()))
        during = prom.query(prom_url, f"{prom.P99_RULE}{{{endpoint}}}")
        rate = f"sum(rate({prom.REQUESTS}{{{endpoint}}}[{max(2, seconds - 2)}s]))"
        rps = prom.query(prom_url, rate)
    time.sleep(2 * c.scrape_interval_s)  # a scrape after the last request
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
        f"Prometheus {p99:.2f} ms over the load's requests "
        f"({m['p99_ms_prometheus_during']:.2f} ms from the recording rule {seconds - 1} s into "
        f"it), wrk {m['p99_ms_client']:.2f} ms over {run['requests']:.0f} requests, in the "
        f"bucket ({low:g}, {high:g}] ms: {'the same' if low < p99 <= high else 'not the same'} "
        f"bucket; difference {m['p99_diff_ms']:+.2f} ms. Bound: within [{floor:g}, {high:g}] ms "
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


def drift_phase(c: Config, url: str, prom_url: str, plan: Plan) -> tuple[list[Check], dict]:
    """One window of drifted rows: the gauge crosses the bar and the drift alert fires."""
    frame = drifted(plan.sample(c.seed + 2), plan.schema, c.drift)
    sent = time.perf_counter()
    failed, expected = send_window(c, url, plan, frame)
    got, diff, _ = wait_indices(prom_url, expected, c.drift.timeout_s)
    seen_s = time.perf_counter() - sent
    name = prom.ALERTS[1]

    def states() -> set[str]:
        return prom.alert_states(prom_url).get(name, set())

    active, _ = prom.wait_for(states, c.drift.timeout_s)
    active_s = time.perf_counter() - sent
    firing, _ = prom.wait_for(lambda: "firing" in states(), c.drift.timeout_s)
    firing_s = time.perf_counter() - sent
    series = prom.query(prom_url, f'ALERTS{{alertname="{name}"}}')
    top = max(got.values(), default=0.0)
    over = ", ".join(sorted(k for k, v in got.items() if v > c.bars.psi)) or "none"
    crossed = f"max index {top:.3f} (bar {c.bars.psi:g}), above it: {over}; seen {seen_s:.1f} s"
    alerted = (
        f"{name} {sorted(active or [])} {active_s:.1f} s after the batch, firing: "
        f"{'yes' if firing else 'no'} ({firing_s:.1f} s); {len(series)} ALERTS series"
    )
    checks = [
        Check("drift_batch_accepted", failed == 0, f"{len(frame)} rows, {failed} non-200"),
        Check("psi_gauge_crosses_bar", top > c.bars.psi, crossed),
        Check("psi_alert_fires", bool(active) and len(series) > 0, alerted),
        Check("psi_equals_offline", diff < 1e-9, f"max |Δ| {diff:.1e} against mlops.drift"),
    ]
    metrics = {f"drift_{k}": v for k, v in got.items()}
    metrics |= {"psi_max_drifted": top, "psi_offline_max_abs_diff_drifted": diff}
    metrics |= {"drift_seconds_to_gauge": seen_s, "drift_seconds_to_alert": active_s}
    metrics["drift_seconds_to_firing"] = firing_s if firing else math.nan
    return checks, metrics


def gauge_phase(c: Config, prom_url: str, plan: Plan) -> tuple[list[Check], dict]:
    """Model version, prediction distribution, canary share and GPU, as Prometheus holds them."""
    from ai_roadmap.mlops.gpu import sample_gpus

    model = f'{{model="{NAME}"}}'
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
            len(buckets) == 11 and 0 <= unanswered <= c.load.connections,
            f"{scored:.0f} probabilities in 11 buckets; {plan.sent:.0f} rows sent (wrk may "
            f"leave up to {c.load.connections} in flight at its end)",
        ),
        Check(
            "canary_share_gauge",
            canary == [c.service.canary_share],
            f"roadmap_canary_share {canary} (set {c.service.canary_share:g})",
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
    c: Config, prom_url: str, folder: Path, start: float
) -> tuple[list[Check], dict]:
    """The Grafana panels rendered from Prometheus range queries; Chromium's screenshot."""
    from ai_roadmap.mlops.dashboard import blankness, render_dashboard, screenshot

    thresholds = {
        "P99 latency by endpoint (recording rule)": c.bars.p99_s,
        "Feature drift: PSI / CSI of the last window": c.bars.psi,
        "5xx share by endpoint": c.bars.error_rate,
    }
    time.sleep(2 * c.scrape_interval_s)  # the last scrape and rule evaluation land in the span
    span = (start, time.time(), c.scrape_interval_s)
    page = folder / "dashboard.html"
    panels = render_dashboard(prom_url, page, span, c.bars.rate_window, thresholds)
    png = screenshot(page, folder / "dashboard.png", (c.window_size[0], c.window_size[1]))
    std, colours = blankness(png)
    drawn = sum(p.series > 0 for p in panels)
    empty = ", ".join(p.title for p in panels if p.series == 0) or "none"
    size = f"{c.window_size[0]}×{c.window_size[1]}"
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
    c: Config, url: str, folder: Path, plan: Plan, scratch: Path
) -> tuple[list[Check], dict[str, float]]:
    """Prometheus over the running service: up, clean window, load, drift, gauges, dashboard."""
    config = prom.scrape_config(url.removeprefix("http://"), c.scrape_interval_s, ["rules.yml"])
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
            lambda: clean_phase(c, url, prom_url, plan),
            lambda: load_phase(c, url, prom_url, plan, scratch),
            lambda: drift_phase(c, url, prom_url, plan),
            lambda: gauge_phase(c, prom_url, plan),
        ]
        for phase in phases:
            found, m = phase()
            checks += found
            metrics |= m
        errors = [v for _, v in prom.query(prom_url, prom.ERROR_RULE) if not math.isnan(v)]
        metrics["error_ratio_max"] = max(errors, default=math.nan)
        states = prom.alert_states(prom_url)
        metrics |= {f"alert_{k}": float(bool(states.get(k))) for k in prom.ALERTS}
        found, m = dashboard_phase(c, prom_url, folder, start)
    return checks + found, metrics | m


# ── the milestone ────────────────────────────────────────────────────────────────────


def prepare(c: Config, models: Path) -> tuple[str, Plan]:
    """The served model, its reference summary beside it, and what the phases share."""
    from ai_roadmap.artifacts import read_card
    from ai_roadmap.datasets.titanic import load_titanic
    from ai_roadmap.mlops.monitoring import summarise_reference, write_reference

    train = load_titanic().train
    folder = models / NAME
    origin = stand_in(folder, train) if c.model.source == "stand-in" else registry_model(models)
    schema = read_card(folder).input_schema
    features = summarise_reference(train, schema, c.model.bins, c.model.exclude)
    write_reference(folder, features, c.model.bins)
    plan = Plan(train, schema, features, c.service.window)
    plan.filler = plan.rows(plan.sample(c.seed))
    return origin, plan


def run(cfg: DictConfig) -> Result:
    try:
        c = typed(cfg, Config)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    import tempfile

    from ai_roadmap.serving.server import running_server
    from ai_roadmap.settings import Settings

    out = Path(c.output_dir)
    folder = out / "monitor"
    folder.mkdir(parents=True, exist_ok=True)
    origin, plan = prepare(c, out / "models")
    checks, metrics = rule_checks(c, folder)
    settings = Settings(serve_model_dir=out / "models", serve_models=NAME)
    env = {
        "ROADMAP_MONITOR_WINDOW": str(c.service.window),
        "ROADMAP_CANARY_SHARE": str(c.service.canary_share),
    }
    with (
        tempfile.TemporaryDirectory(prefix="roadmap-s5monitor-") as scratch,
        running_server(settings, c.service.workers, None, c.service.ready_timeout_s, env) as server,
    ):
        found, m = observe(c, server.url, folder, plan, Path(scratch))
    checks += found
    metrics |= m
    metrics["checks"] = float(len(checks))
    metrics["checks_failed"] = float(sum(not x.passed for x in checks))
    return finish(c, folder, origin, plan, checks, metrics)


def finish(
    c: Config,
    folder: Path,
    origin: str,
    plan: Plan,
    checks: list[Check],
    metrics: dict[str, float],
) -> Result:
    from ai_roadmap.mlops.dashboard import grafana_dashboard

    (folder / "roadmap-monitor.json").write_text(json.dumps(grafana_dashboard(), indent=2))
    summary = {"metrics": metrics, "checks": [asdict(x) for x in checks], "model": origin}
    (folder / "monitor.json").write_text(json.dumps(summary, indent=2, default=str))
    names = ", ".join(f"{f.name} ({f.statistic})" for f in plan.features)
    notes = [
        origin,
        f"drift reference: the 891 Titanic training passengers, {c.model.bins} quantile buckets "
        f"per numeric feature; monitored: {names}; window {c.service.window} rows; "
        f"{c.service.workers} Gunicorn worker(s); Prometheus scrapes and evaluates every "
        f"{c.scrape_interval_s:g} s, rate window {c.bars.rate_window}",
        f"load: wrk, {c.load.connections} connection(s), {round(c.load.duration_s)} s, cycling "
        f"{c.load.distinct_rows} training rows through /v1/{NAME}/predict; "
        f"{metrics.get('rps_client', math.nan):.0f} req/s by wrk, "
        f"{metrics.get('rps_prometheus', math.nan):.0f} req/s by Prometheus' rate()",
        f"drift: ages +{c.drift.age_shift:g} y, fares ×{c.drift.fare_scale:g} (clipped to the "
        f"schema's ranges), every passenger {c.drift.sex}",
        "P99: the server's histogram times each request inside the app (middleware); wrk "
        "also times the loopback, HTTP parsing and any wait while the worker is descheduled, "
        "so its P99 is the larger one; histogram_quantile interpolates linearly inside the "
        "bucket holding the rank, so it resolves no finer than that bucket's width",
        *(f"{'pass' if x.passed else 'FAIL'} {x.name}: {x.detail}" for x in checks),
    ]
    artifacts = {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}
    return Result(
        metrics=metrics,
        dataset="titanic (kaggle train 891) through the service",
        proxy=False,
        artifacts=artifacts,
        params={"model": origin},
        notes=notes,
    )
