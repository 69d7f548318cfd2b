"""Load-test the prediction service: scenarios, one server per worker count, wrk's figures.

A load test is a list of :class:`Scenario` — ``batch_size`` records per request to
one model, at a number of Gunicorn workers, over ``connections`` connections with
or without keep-alive — usually written as :class:`ScenarioSpec` entries of a
config (one entry, several worker counts) inside :class:`LoadTestOptions`.
:func:`run_load_test` starts one real server per worker count
(:mod:`ai_roadmap.serving.server`), checks one prediction from every model, then
drives each scenario with wrk (:mod:`ai_roadmap.serving.wrk`, a closed loop) and
reads how the CPU time split between the workers. :func:`load_metrics` flattens
the results into ``<figure>_<scenario>_<workers>w`` metrics.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.server import busiest_share, running_server, worker_cpu_seconds
from ai_roadmap.serving.wrk import run_wrk, wrk_binary
from ai_roadmap.settings import Settings

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


@dataclass(frozen=True)
class ScenarioSpec:
    """One configured load, run at each of ``workers`` (a :class:`Scenario` per count)."""

    name: str
    batch_size: int  # records per request; 0: GET /healthz
    workers: tuple[int, ...]
    connections: int | None = None  # None: the run's default
    keep_alive: bool = True


@dataclass(frozen=True)
class LoadTestOptions:
    """A whole load test: the model hit, wrk's settings, the scenarios and the server's env.

    ``connections`` is wrk's ``-c`` unless a scenario sets its own; ``env`` adds
    variables to the server's environment (the Dockerfile's thread limits, for one).
    """

    model: str
    duration_s: float  # wrk -d, per scenario
    connections: int
    scenarios: tuple[ScenarioSpec, ...]
    threads: int = 1  # wrk -t
    ready_timeout_s: float = 120.0  # Gunicorn start + model load, per server
    env: dict[str, int | str] = field(default_factory=dict)


def scenarios_of(options: LoadTestOptions) -> list[Scenario]:
    """Every configured entry at each of its worker counts, in the configured order."""
    return [
        Scenario(
            spec.name, options.model, spec.batch_size, workers, spec.connections, spec.keep_alive
        )
        for spec in options.scenarios
        for workers in spec.workers
    ]


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
    generator_cores: float = 0.0  # CPU seconds wrk used per second of the run (cores it took)


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


# ── results ──────────────────────────────────────────────────────────────────


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
        generator_cores=round(stats.get("generator_cpu_s", 0.0) / seconds, 3) if seconds else 0.0,
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
    settings: Settings, options: LoadTestOptions, python: str | None = None
) -> LoadTestRun:
    """Every scenario, with one server per worker count (started, probed, loaded, stopped).

    ``python`` is the interpreter whose environment serves (default: this one).
    """
    from ai_roadmap.artifacts import read_card

    wrk_binary()
    scenarios = scenarios_of(options)
    env = {name: str(value) for name, value in options.env.items()}
    run = LoadTestRun([], {}, {})
    for workers in sorted({s.workers for s in scenarios}):
        with running_server(settings, workers, python, options.ready_timeout_s, env) as server:
            run.ready_s[workers] = round(server.ready_s, 2)
            run.probes = probe_models(server.url, settings)
            for scenario in (s for s in scenarios if s.workers == workers):
                body = None
                if scenario.batch_size > 0:
                    card = read_card(settings.model_dir / scenario.model)
                    record = example_record(scenario.model, card.input_schema)
                    body = request_body(record, scenario.batch_size)
                clients = scenario.connections or options.connections
                before = worker_cpu_seconds(server.pid)
                url = server.url + scenario.path
                stats = run_wrk(
                    url, body, options.duration_s, clients, options.threads, scenario.keep_alive
                )
                share = busiest_share(before, worker_cpu_seconds(server.pid))
                run.results.append(summarise(scenario, stats, clients, share))
    return run


def as_rows(results: list[LoadResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]


def load_metrics(rows: list[dict[str, Any]]) -> dict[str, float]:
    """``rps_<scenario>_<w>w``, ``p50_ms_…``, ``p99_ms_…``, ``errors_…``, and ``errors`` (sum).

    ``busiest_worker_share_…`` where there are several workers (1/workers is an even
    split) and ``records_per_s_…`` where a request carries several records.
    """
    metrics: dict[str, float] = {"errors": float(sum(r["errors"] for r in rows))}
    for row in rows:
        key = f"{row['scenario']}_{row['workers']}w"
        for name in ("rps", "p50_ms", "p99_ms", "errors", "generator_cores"):
            if name in row:
                metrics[f"{name}_{key}"] = float(row[name])
        if row["workers"] > 1:
            metrics[f"busiest_worker_share_{key}"] = float(row["busiest_worker_share"])
        if row["batch_size"] > 1:
            metrics[f"records_per_s_{key}"] = float(row["records_per_s"])
    return metrics
