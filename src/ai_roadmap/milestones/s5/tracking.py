"""s5.tracking — MLflow as a team runs it: a tracking server, registry aliases, lineage.

Everything goes through a real ``mlflow server`` (:mod:`ai_roadmap.mlops.mlflow_server`)
started on 127.0.0.1 for the run, with its own SQLite store and proxied artifacts:

1. ``training.runs`` runs of s0.titanic through the project's runner, each
   ``roadmap run s0.titanic --json`` in a child process with the server as tracking
   URI; each registers a version of the model ``s0.titanic``.
2. ``roadmap status --json`` and ``roadmap models list`` in child processes pointed
   at the server: the scorecard's figure and run must be the last run's.
3. Aliases (:mod:`ai_roadmap.mlops.registry`): a version becomes ``@challenger``, is
   promoted to ``@champion`` (the old champion recorded on it), a challenger is
   demoted, and a rollback restores the previous champion.
4. ``models:/s0.titanic@champion`` downloaded by URI and loaded with the project's
   loader predicts the 418 Titanic test passengers exactly as the exported serving
   folder (``roadmap serve --export-only``) does through the service's own request
   models and predict path.
5. ``logging.writers`` processes log into one run at the same moment
   (:mod:`ai_roadmap.mlops.concurrent_logging`): nothing may be lost.
6. The champion's lineage (:mod:`ai_roadmap.mlops.model_lineage`): version → run → git SHA,
   dataset and ``roadmap.data.*`` tags → model card, complete.

The target is ``checks_failed`` = 0. Weights & Biases keeps runs on wandb.ai (an
account) or W&B Server (a licensed Docker image): neither runs offline here, and
it is not imitated.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.config import typed
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ai_roadmap.settings import Settings

ITEM = "s0.titanic"  # the model the checks train, promote and serve
SERVED = "titanic"  # its name in the serving layer


@dataclass(frozen=True)
class Server:
    workers: int = 1  # uvicorn workers (2 cores here)
    start_timeout_s: float = 120.0


@dataclass(frozen=True)
class Training:
    scale: str = "smoke"  # the scale s0.titanic runs at
    runs: int = 2  # each registers a version; two give a champion and a challenger
    overrides: list[str] = field(default_factory=list)  # passed to s0.titanic
    timeout_s: float = 1800.0  # per run (each is a child process)

    def __post_init__(self) -> None:
        if self.runs < 2:
            raise ValueError("training.runs must be at least 2 (a champion and a challenger)")
        if self.scale not in ("smoke", "quick", "full"):
            raise ValueError("training.scale must be smoke, quick or full")


@dataclass(frozen=True)
class Logging:
    writers: int = 2  # processes logging into one run at once
    values: int = 50  # params, own-metric points and shared-metric points per writer
    timeout_s: float = 300.0

    def __post_init__(self) -> None:
        if self.writers < 2 or self.values < 1:
            raise ValueError("logging needs at least 2 writers and 1 value each")


@dataclass(frozen=True)
class Config:
    seed: int = 0
    output_dir: str = "."
    server: Server = field(default_factory=Server)
    training: Training = field(default_factory=Training)
    logging: Logging = field(default_factory=Logging)
    tolerance: float = 1e-6  # max |Δ| probability, registry URI vs exported serving folder
    require_data_tags: bool = True  # lineage complete only with roadmap.data.* tags
    cli_timeout_s: float = 120.0


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


# ── 1–2: runs through the server, and what `roadmap status` shows ────────────────────


def train(c: Config, settings: Settings) -> tuple[list[dict[str, Any]], list[float]]:
    """``training.runs`` runs of s0.titanic, each ``roadmap run … --json`` in a child process.

    That is the project's runner, started as a user on the team would start it
    (``ROADMAP_TRACKING_URI`` set to the server); returns each run's JSON report
    and its seconds.
    """
    from ai_roadmap.mlops.mlflow_server import roadmap_json

    reports, seconds = [], []
    for k in range(c.training.runs):
        started = time.perf_counter()
        command = ["run", ITEM, "--scale", c.training.scale, f"seed={c.seed + k}"]
        (report,) = roadmap_json(
            [[*command, *c.training.overrides]], settings, c.training.timeout_s
        )
        reports.append(report)
        seconds.append(time.perf_counter() - started)
    return reports, seconds


def status_checks(
    status: dict[str, Any],
    listed: dict[str, Any],
    last: dict[str, Any],
    aliases: dict[str, str],
    runs: int,
) -> tuple[list[Check], dict[str, float]]:
    """The scorecard row is the last run; the CLI lists every version and the champion."""
    row = next(r for r in status["items"] if r["id"] == ITEM)
    metric = row["metric"]
    expected = last["metrics"][metric]
    shown = row["value"]
    same = shown == expected and row["run_id"] == last["mlflow_run_id"]
    status_check = Check(
        "status_shows_the_server_run",
        same,
        f"`roadmap status` via the server: {metric} {shown} from run {str(row['run_id'])[:8]}; "
        f"`roadmap run` logged {expected} in run {last['mlflow_run_id'][:8]}",
    )
    versions = listed["versions"]
    cli_champion = next((v["version"] for v in versions if "champion" in v["aliases"]), None)
    list_check = Check(
        "cli_lists_versions_through_the_server",
        len(versions) == runs and cli_champion == aliases.get("champion"),
        f"`roadmap models list {ITEM}`: {len(versions)} versions, @champion v{cli_champion}; "
        f"registry: @champion v{aliases.get('champion')}, {runs} runs registered",
    )
    figures = {
        "status_figure": float(shown) if shown is not None else float("nan"),
        "runner_figure": float(expected),
        "status_abs_diff": abs(float(shown) - expected) if shown is not None else float("inf"),
    }
    return [status_check, list_check], figures


# ── 3: aliases ───────────────────────────────────────────────────────────────────────


def alias_checks(client: Any) -> tuple[list[Check], dict[str, float]]:
    """Challenge with the newest non-champion version, promote, demote, roll back."""
    from ai_roadmap.mlops import registry
    from ai_roadmap.tracking import PREVIOUS_CHAMPION

    first = registry.aliases(client, ITEM)["champion"]
    candidate = next(v.version for v in registry.list_versions(client, ITEM) if v.version != first)
    started = time.perf_counter()
    registry.set_challenger(client, ITEM, candidate)
    registry.promote(client, ITEM)
    promote_ms = (time.perf_counter() - started) * 1000
    promoted = registry.aliases(client, ITEM)
    recorded = client.get_model_version(ITEM, candidate).tags.get(PREVIOUS_CHAMPION)
    checks = [
        Check(
            "promote_moves_champion",
            promoted.get("champion") == candidate
            and "challenger" not in promoted
            and recorded == first,
            f"@champion v{first} -> challenger v{candidate} promoted: aliases {promoted}, "
            f"previous champion recorded on v{candidate}: v{recorded}",
        )
    ]
    registry.set_challenger(client, ITEM, first)
    challenged = registry.aliases(client, ITEM)
    registry.demote(client, ITEM)
    demoted = registry.aliases(client, ITEM)
    checks.append(
        Check(
            "demote_drops_challenger",
            challenged.get("challenger") == first
            and "challenger" not in demoted
            and demoted.get("champion") == candidate,
            f"@challenger v{challenged.get('challenger')} demoted: aliases {demoted}",
        )
    )
    started = time.perf_counter()
    move = registry.rollback(client, ITEM)
    rollback_ms = (time.perf_counter() - started) * 1000
    after = registry.aliases(client, ITEM)
    demoted_tag = client.get_model_version(ITEM, candidate).tags.get(registry.DEMOTED)
    checks.append(
        Check(
            "rollback_restores_previous_champion",
            after.get("champion") == first and move.before == candidate,
            f"rollback: @champion v{move.before} -> v{move.after}; aliases now {after}; "
            f"v{candidate} tagged {demoted_tag!r}",
        )
    )
    figures = {
        "champion_before": float(first),
        "champion_after_promote": float(promoted.get("champion", "nan")),
        "champion_after_rollback": float(after.get("champion", "nan")),
        "promote_ms": promote_ms,
        "rollback_ms": rollback_ms,
    }
    return checks, figures


# ── 4: the registry URI against the exported serving folder ─────────────────────────


def prediction_check(
    c: Config, settings: Settings, champion: str, scratch: Path
) -> tuple[list[Check], dict[str, float]]:
    """The champion by URI against the exported folder, on the Titanic test passengers."""
    from ai_roadmap.datasets.titanic import load_titanic
    from ai_roadmap.mlops.model_parity import compare, served_predictions, uri_predictions

    passengers = load_titanic().test
    served, answered, version, path = served_predictions(settings, SERVED, passengers)
    uri = f"models:/{ITEM}@champion"
    by_uri = uri_predictions(uri, settings.mlflow_uri, passengers, scratch / "by-uri")
    diff, flips = compare(served, answered, by_uri)
    refused = int((~answered).sum())
    check = Check(
        "registry_uri_equals_serving_export",
        diff <= c.tolerance and flips == 0 and version == champion,
        f"{uri} (v{champion}) vs the exported folder (VERSION {version}, {path} path) on "
        f"{int(answered.sum())} of {len(answered)} test passengers ({refused} refused by the "
        f"service's request schema, as it would with 422): max |Δp| {diff:.2e} "
        f"(bar {c.tolerance:g}), {flips} labels differ",
    )
    figures = {
        "prediction_max_abs_diff": diff,
        "prediction_label_flips": float(flips),
        "passengers_compared": float(answered.sum()),
        "passengers_refused": float(refused),
    }
    return [check], figures


# ── 5–6: concurrent writers, lineage ─────────────────────────────────────────────────


def logging_check(c: Config, client: Any, scratch: Path) -> tuple[list[Check], dict[str, float]]:
    from ai_roadmap.mlops.concurrent_logging import run_writers
    from ai_roadmap.mlops.mlflow_server import child_env

    experiment = client.create_experiment("roadmap-concurrent-logging")
    run_id = client.create_run(experiment, run_name="concurrent writers").info.run_id
    found = run_writers(
        client,
        run_id,
        c.logging.writers,
        c.logging.values,
        scratch / "writers",
        child_env(),
        c.logging.timeout_s,
    )
    client.set_terminated(run_id, "FINISHED")
    check = Check(
        "concurrent_writers_lose_nothing",
        found.lost == 0 and found.overlap_s > 0,
        f"{found.writers} processes × {found.n} params + {2 * found.n} metric points into one run, "
        f"{found.requests} requests in {found.wall_s:.1f} s, all writing at once for "
        f"{found.overlap_s:.1f} s: {found.params_lost} params and {found.metric_points_lost} "
        f"metric points lost, {found.wrong_values} wrong values",
    )
    figures = {
        "concurrent_lost": float(found.lost),
        "concurrent_requests": float(found.requests),
        "concurrent_overlap_s": found.overlap_s,
        "concurrent_requests_per_s": found.requests_per_s,
    }
    return [check], figures


def lineage_check(
    c: Config, client: Any, reports: list[dict[str, Any]]
) -> tuple[list[Check], dict[str, float], dict[str, Any]]:
    """The champion back to one of this run's runs, this checkout's commit, its data, its card."""
    from ai_roadmap.mlops.model_lineage import checkout_head, lineage

    found = lineage(client, ITEM, "champion")
    head = checkout_head()  # "unknown" for an installed package: the runner records the same
    gaps = found.missing(c.require_data_tags, require_git=head != "unknown")
    ours = {r["mlflow_run_id"] for r in reports}
    ok = not gaps and found.run_id in ours and found.git_sha.removesuffix("-dirty") == head
    data = ", ".join(f"{k} {v[:12]}" for k, v in found.data.items()) or "none recorded"
    files = len(found.card.get("files", {}))
    check = Check(
        "lineage_is_complete",
        ok,
        f"{ITEM}@champion v{found.version} -> run {found.run_id[:8]} ({found.run_status}), "
        f"git {found.git_sha} (this checkout's HEAD: {head}), dataset {found.dataset!r}, "
        f"data tags: {data}, card {found.card.get('name')!r} with {files} hashed files; "
        f"missing: {', '.join(gaps) or 'nothing'}",
    )
    return (
        [check],
        {"lineage_data_tags": float(len(found.data)), "lineage_missing": float(len(gaps))},
        found.to_dict(),
    )


# ── the milestone ────────────────────────────────────────────────────────────────────


def checks_through_server(
    c: Config, scratch: Path
) -> tuple[list[Check], dict[str, float], dict[str, Any]]:
    """Start the server, run every check against it, stop it (also on failure)."""
    from ai_roadmap.mlops import registry
    from ai_roadmap.mlops.mlflow_server import roadmap_json, running_mlflow_server
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import client as tracking_client

    found: list[Check] = []
    metrics: dict[str, float] = {}
    with running_mlflow_server(
        scratch / "server", c.server.workers, c.server.start_timeout_s
    ) as server:
        metrics["server_start_s"] = server.start_s
        base = get_settings()
        settings = base.model_copy(
            update={
                "home": scratch / "home",
                "data_home": base.data_root,
                "tracking_uri": server.url,
                "serve_model_dir": scratch / "serving",
                "serve_models": SERVED,
            }
        )
        reports, seconds = train(c, settings)
        metrics |= {"training_runs": float(len(reports)), "training_s": sum(seconds)}
        client = tracking_client(settings)[0]
        aliases = registry.aliases(client, ITEM)
        started = time.perf_counter()
        status, listed = roadmap_json(
            [["status"], ["models", "list", ITEM]], settings, c.cli_timeout_s
        )
        metrics["cli_s"] = time.perf_counter() - started
        for step in (
            lambda: status_checks(status, listed, reports[-1], aliases, len(reports)),
            lambda: alias_checks(client),
            lambda: prediction_check(
                c, settings, registry.aliases(client, ITEM)["champion"], scratch
            ),
            lambda: logging_check(c, client, scratch),
        ):
            checks, figures = step()
            found += checks
            metrics |= figures
        checks, figures, chain = lineage_check(c, client, reports)
        found += checks
        metrics |= figures
    return (
        found,
        metrics,
        {"lineage": chain, "server": server.url, "runs": [r["mlflow_run_id"] for r in reports]},
    )


def run(cfg: DictConfig) -> Result:
    import mlflow

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    previous_uri = mlflow.get_tracking_uri()
    try:
        with tempfile.TemporaryDirectory(prefix="roadmap-s5tracking-") as tmp:
            found, metrics, record = checks_through_server(c, Path(tmp))
    finally:
        mlflow.set_tracking_uri(previous_uri)  # the runner goes on with the caller's store
    metrics["checks"] = float(len(found))
    metrics["checks_failed"] = float(sum(not x.passed for x in found))
    summary = out / "tracking.json"
    record["checks"] = [x.__dict__ for x in found]
    record["metrics"] = metrics
    summary.write_text(json.dumps(record, indent=2, ensure_ascii=False), encoding="utf-8")
    notes = [
        f"mlflow server {mlflow.__version__} on 127.0.0.1 ({c.server.workers} uvicorn "
        f"worker(s), SQLite backend, proxied artifacts, its own process group): /health answered "
        f"{metrics['server_start_s']:.1f} s after spawn, on {os.cpu_count()} cores shared with "
        f"other work (load {os.getloadavg()[0]:.1f})",
        f"{c.training.runs} runs of {ITEM} at {c.training.scale} (overrides "
        f"{' '.join(c.training.overrides) or 'none'}; seed {c.seed} + run index) through the "
        "runner, each `roadmap run --json` in a child process with the server as tracking "
        f"URI: {metrics['training_s']:.1f} s in all; "
        "`roadmap status` and "
        f"`roadmap models list` in child processes: {metrics['cli_s']:.1f} s",
        "alias moves through the server: challenge + promote "
        f"{metrics['promote_ms']:.0f} ms, rollback {metrics['rollback_ms']:.0f} ms",
        "Weights & Biases is not run: its client is on PyPI, but runs are kept and viewed by "
        "wandb.ai (an account, the internet) or W&B Server (a licensed Docker image); this "
        "machine is offline and has no Docker engine. MLflow covers the same ground here",
        *(f"{'pass' if x.passed else 'FAIL'} {x.name}: {x.detail}" for x in found),
    ]
    return Result(
        metrics=metrics,
        dataset=f"{ITEM} runs ({c.training.scale}) logged through a local mlflow server; "
        "titanic test passengers for the prediction check",
        proxy=False,
        artifacts={"tracking.json": summary},
        params={"server": record["server"], "runs": record["runs"]},
        notes=notes,
    )
