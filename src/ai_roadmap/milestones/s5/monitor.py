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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops import prometheus as prom
from ai_roadmap.mlops.watch import Check, Plan, Watch, observe, rule_checks
from ai_roadmap.result import Result

if TYPE_CHECKING:
    import pandas as pd
    from omegaconf import DictConfig

NAME = "titanic"  # the served name of s0.titanic
OFFLINE = {"HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
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
    """Export the registry's s0.titanic champion; when there is none, train one first with
    ``roadmap run s0.titanic --scale smoke`` (the runner, in a child process)."""
    from ai_roadmap.serving.export import export_champions
    from ai_roadmap.settings import get_settings

    settings = get_settings().model_copy(update={"serve_model_dir": models})
    try:
        version = export_champions(settings, [NAME])[NAME]
        return f"the registry's s0.titanic @champion, version {version}"
    except RoadmapError:
        run_id = train_at_smoke()
    version = export_champions(settings, [NAME])[NAME]
    return (
        f"s0.titanic trained here at smoke by `roadmap run s0.titanic --scale smoke` (no "
        f"champion existed; MLflow run {run_id}), version {version}: a smoke model, not the "
        "quick one"
    )


def train_at_smoke() -> str:
    """Run the runner for s0.titanic at smoke in a child process; its MLflow run id."""
    import subprocess
    import sys

    env = dict(os.environ, **OFFLINE)
    command = [sys.executable, "-m", "ai_roadmap", "run", "s0.titanic", "--scale", "smoke"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise RoadmapError(f"training s0.titanic at smoke failed: {last}")
    return next((x.split(":", 1)[1].strip() for x in lines if x.startswith("mlflow run:")), "?")


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
    plan = Plan(train, schema, features, c.service.window, lambda f: drifted(f, schema, c.drift))
    plan.filler = plan.rows(plan.sample(c.seed))
    return origin, plan


def watch(c: Config) -> Watch:
    """The phases' settings, from the milestone's config."""
    return Watch(
        NAME, c.service.window, c.model.bins, c.seed, c.bars, c.scrape_interval_s,
        c.drift.timeout_s, c.service.canary_share, round(c.load.duration_s), c.load.connections,
        c.load.distinct_rows, (c.window_size[0], c.window_size[1]),
    )  # fmt: skip


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)  # a bad value is a one-line UsageError naming the key
    import tempfile

    from ai_roadmap.serving.server import running_server
    from ai_roadmap.settings import Settings

    out = Path(c.output_dir)
    folder = out / "monitor"
    folder.mkdir(parents=True, exist_ok=True)
    origin, plan = prepare(c, out / "models")
    checks, metrics = rule_checks(watch(c), folder)
    settings = Settings(serve_model_dir=out / "models", serve_models=NAME)
    env = {
        "ROADMAP_MONITOR_WINDOW": str(c.service.window),
        "ROADMAP_CANARY_SHARE": str(c.service.canary_share),
    }
    with (
        tempfile.TemporaryDirectory(prefix="roadmap-s5monitor-") as scratch,
        running_server(settings, c.service.workers, None, c.service.ready_timeout_s, env) as server,
    ):
        found, m = observe(watch(c), server.url, folder, plan, Path(scratch))
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
