"""s5.tracking — MLflow as a team runs it: a tracking server, registry aliases, lineage.

Everything goes through a real ``mlflow server`` (:mod:`ai_roadmap.mlops.mlflow_server`)
started on 127.0.0.1 for the run, with its own SQLite store and proxied artifacts:

1. ``training.runs`` runs of s0.titanic through the project's runner
   (:func:`ai_roadmap.runner.run_milestone`) with the server as tracking URI; each
   registers a version of the model ``s0.titanic``.
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
6. The champion's lineage (:mod:`ai_roadmap.mlops.lineage`): version → run → git SHA,
   dataset and ``roadmap.data.*`` tags → model card, complete.

The target is ``checks_failed`` = 0. Weights & Biases needs an account and its
servers (or a licensed local server): it cannot run here, and is not imitated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.config import typed
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ai_roadmap.runner import RunReport
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
    require_data_tags: bool = False  # lineage complete only with roadmap.data.* tags
    cli_timeout_s: float = 120.0


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


# ── 1–2: runs through the server, and what `roadmap status` shows ────────────────────


def train(c: Config, settings: Settings) -> tuple[list[RunReport], list[float]]:
    """``training.runs`` runs of s0.titanic through the runner; reports and seconds each."""
    from ai_roadmap.runner import run_milestone

    reports, seconds = [], []
    for k in range(c.training.runs):
        started = time.perf_counter()
        overrides = [f"seed={c.seed + k}", *c.training.overrides]
        reports.append(run_milestone(ITEM, c.training.scale, overrides, settings))
        seconds.append(time.perf_counter() - started)
    return reports, seconds


def run_cli(commands: list[list[str]], settings: Settings, timeout_s: float) -> list[Any]:
    """``roadmap <command> --json`` in child processes (at once) against the settings' store."""
    from ai_roadmap.errors import RoadmapError
    from ai_roadmap.mlops.mlflow_server import child_env

    env = child_env(
        ROADMAP_HOME=str(settings.home_dir),
        ROADMAP_TRACKING_URI=settings.mlflow_uri,
        ROADMAP_DATA_HOME=str(settings.data_root),
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ai_roadmap", *command, "--json"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for command in commands
    ]
    answers = []
    for command, proc in zip(commands, procs, strict=True):
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise RoadmapError(
                f"`roadmap {' '.join(command)}` took over {timeout_s:.0f} s"
            ) from None
        if proc.returncode != 0:
            raise RoadmapError(f"`roadmap {' '.join(command)}` failed: {stderr.decode()[-300:]}")
        answers.append(json.loads(stdout))
    return answers


def status_checks(
    status: dict[str, Any],
    listed: dict[str, Any],
    last: RunReport,
    aliases: dict[str, str],
    runs: int,
) -> tuple[list[Check], dict[str, float]]:
    """The scorecard row is the last run; the CLI lists every version and the champion."""
    row = next(r for r in status["items"] if r["id"] == ITEM)
    metric = row["metric"]
    expected = last.metrics[metric]
    shown = row["value"]
    same = shown == expected and row["run_id"] == last.mlflow_run_id
    status_check = Check(
        "status_shows_the_server_run",
        same,
        f"`roadmap status` via the server: {metric} {shown} from run {str(row['run_id'])[:8]}; "
        f"the runner logged {expected} in run {last.mlflow_run_id[:8]}",
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


def serving_predictions(settings: Settings, passengers: Any) -> tuple[Any, Any, str, str]:
    """Export the champion as ``roadmap serve --export-only`` does; predict as the service does.

    Each passenger goes through the service's request model first: one the service
    would refuse with 422 (a value its card does not allow) gets NaN and ``False``
    in the mask of answered passengers.
    """
    import numpy as np
    from pydantic import ValidationError

    from ai_roadmap.serving.app import read_served
    from ai_roadmap.serving.export import export_champions
    from ai_roadmap.serving.schemas import request_model

    version = export_champions(settings, [SERVED])[SERVED]
    served = read_served(settings)[SERVED]
    served.load()
    record = request_model(SERVED, served.card.input_schema)
    rows = passengers.astype(object).where(passengers.notna(), None).to_dict("records")
    valid, answered = [], np.zeros(len(rows), dtype=bool)
    for i, row in enumerate(rows):
        try:
            valid.append(record.model_validate(row))
            answered[i] = True
        except ValidationError:
            continue
    probabilities = np.full(len(rows), np.nan)
    probabilities[answered] = [a.probability for a in served.predict(valid)]
    return probabilities, answered, version, served.path


def registry_predictions(settings: Settings, passengers: Any, dest: Path) -> Any:
    """``models:/s0.titanic@champion`` downloaded by URI, loaded with the project's loader."""
    import mlflow

    from ai_roadmap.artifacts import load_model

    folder = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{ITEM}@champion",
        dst_path=str(dest),
        tracking_uri=settings.mlflow_uri,
    )
    model, card = load_model(Path(folder))
    return model.predict_proba(passengers[list(card.input_schema)])[:, 1]


def prediction_check(
    c: Config, settings: Settings, champion: str, scratch: Path
) -> tuple[list[Check], dict[str, float]]:
    import numpy as np

    from ai_roadmap.datasets.titanic import load_titanic

    passengers = load_titanic().test
    served, answered, version, path = serving_predictions(settings, passengers)
    by_uri = registry_predictions(settings, passengers, scratch / "by-uri")
    both = served[answered], by_uri[answered]
    diff = float(np.abs(both[0] - both[1]).max()) if answered.any() else float("inf")
    flips = int(((both[0] >= 0.5) != (both[1] >= 0.5)).sum())
    refused = int((~answered).sum())
    check = Check(
        "registry_uri_equals_serving_export",
        diff <= c.tolerance and flips == 0 and version == champion and refused < len(answered),
        f"models:/{ITEM}@champion (v{champion}) vs the exported folder (VERSION {version}, "
        f"{path} path) on {int(answered.sum())} of {len(answered)} test passengers "
        f"({refused} refused by the service's request schema, as it would with 422): "
        f"max |Δp| {diff:.2e} (bar {c.tolerance:g}), {flips} labels differ",
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
    c: Config, client: Any, reports: list[RunReport]
) -> tuple[list[Check], dict[str, float], dict[str, Any]]:
    from ai_roadmap.mlops.lineage import lineage
    from ai_roadmap.runner import git_sha

    found = lineage(client, ITEM, "champion")
    gaps = found.missing(c.require_data_tags)
    ours = {r.mlflow_run_id for r in reports}
    sha = git_sha()
    ok = not gaps and found.run_id in ours and found.git_sha == sha
    data = ", ".join(f"{k} {v[:12]}" for k, v in found.data.items()) or "none recorded"
    files = len(found.card.get("files", {}))
    check = Check(
        "lineage_is_complete",
        ok,
        f"{ITEM}@champion v{found.version} -> run {found.run_id[:8]} ({found.run_status}), "
        f"git {found.git_sha} (this checkout: {sha}), dataset {found.dataset!r}, "
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
    from ai_roadmap.mlops.mlflow_server import running_mlflow_server
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
        status, listed = run_cli([["status"], ["models", "list", ITEM]], settings, c.cli_timeout_s)
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
        {"lineage": chain, "server": server.url, "runs": [r.mlflow_run_id for r in reports]},
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
        f"runner with the server as tracking URI: {metrics['training_s']:.1f} s in all; "
        "`roadmap status` and "
        f"`roadmap models list` in child processes: {metrics['cli_s']:.1f} s",
        "alias moves through the server: challenge + promote "
        f"{metrics['promote_ms']:.0f} ms, rollback {metrics['rollback_ms']:.0f} ms",
        "Weights & Biases is not run: it needs an account and wandb.ai (or a licensed "
        "local server), neither available offline; MLflow covers the same ground here",
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
