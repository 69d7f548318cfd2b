"""The runner: compose config, seed, run the milestone, measure, judge, record.

Milestones stay pure; this module owns timing, memory, the verdict against the
roadmap's target and the MLflow record. Artefacts are written into a private
folder and copied into MLflow only once the run has completed, so an
interrupted run leaves no half-written artefacts and no run marked finished.
"""

from __future__ import annotations

import importlib
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap import machine
from ai_roadmap.artifacts import CARD_FILE
from ai_roadmap.catalog import Item, Target, load_catalog
from ai_roadmap.config import compose
from ai_roadmap.errors import UsageError
from ai_roadmap.mlops import lineage
from ai_roadmap.result import Result
from ai_roadmap.settings import Settings, get_settings

PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured"


@dataclass
class Verdict:
    verdict: str
    reason: str
    value: float | None = None
    bar: float | None = None


@dataclass
class RunReport:
    """What ``roadmap run`` prints (``--json`` prints it as one object)."""

    id: str
    scale: str
    metrics: dict[str, float]
    target: dict[str, Any] | None
    verdict: str
    reason: str
    dataset: str
    proxy: bool
    duration_s: float
    peak_rss_mb: float
    mlflow_run_id: str
    artifacts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=False)


def judge(target: Target | None, result: Result, scale: str) -> Verdict:
    """Compare the measured figure with the target for this scale.

    ``not measured`` when the milestone says so, when the target's metric is
    missing, or when the figure comes from a proxy dataset: a proxy figure never
    passes the roadmap's target on the real dataset.
    """
    if target is None:
        return Verdict(NOT_MEASURED, "this item has no measurable target")
    bar = target.bar(scale)
    if result.not_measured:
        return Verdict(NOT_MEASURED, result.not_measured, bar=bar)
    if target.metric not in result.metrics:
        return Verdict(NOT_MEASURED, f"the run did not report {target.metric}", bar=bar)
    value = float(result.metrics[target.metric])
    if result.proxy:
        return Verdict(
            NOT_MEASURED,
            f"measured on a proxy ({result.dataset}); the target is on {target.dataset}",
            value=value,
            bar=bar,
        )
    ok = target.met(value, scale)
    reason = f"{target.metric} = {value:.6g} {'meets' if ok else 'misses'} {target.op} {bar:g}"
    return Verdict(PASS if ok else FAIL, reason, value=value, bar=bar)


def runnable(item_id: str) -> Item:
    """The catalog item if it can be run, else a one-line :class:`UsageError`."""
    item = load_catalog().get(item_id)
    if item.kind == "task":
        raise UsageError(
            f"{item_id} is a learning task, not a runnable milestone; "
            f"tick it off with `roadmap done {item_id}`"
        )
    if not item.built:
        raise UsageError(f"{item_id} is not built yet; `roadmap show {item_id}` describes it")
    from ai_roadmap.extras import require

    require(item.extra, item_id)
    return item


def seed_everything(seed: int) -> None:
    """Seed Python and NumPy, and torch when the milestone has imported it."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def git_sha() -> str:
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if sha.returncode != 0:
        return "unknown"
    return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out[prefix] = str(value)[:500]


def run_milestone(
    item_id: str,
    scale: str = "quick",
    overrides: list[str] | None = None,
    settings: Settings | None = None,
) -> RunReport:
    """Run one milestone end to end and record it; returns the report."""
    from omegaconf import OmegaConf

    settings = settings or get_settings()
    item = runnable(item_id)
    cfg = compose(item_id, scale, overrides)
    module = importlib.import_module(item.module or "")
    seed_everything(int(cfg.get("seed", 0)))

    from ai_roadmap import tracking

    work_root = settings.home_dir / "runs"
    work_root.mkdir(parents=True, exist_ok=True)
    with tracking.milestone_run(settings, item_id, scale) as (client, run_id):
        work = Path(tempfile.mkdtemp(prefix=f"{item_id}-", dir=work_root))
        try:
            cfg.output_dir = str(work)
            started = time.perf_counter()
            with lineage.datasets_used() as used:  # data lineage: which datasets it read
                result: Result = module.run(cfg)
            duration = time.perf_counter() - started
            verdict = judge(item.target, result, scale)
            report = RunReport(
                id=item_id,
                scale=scale,
                metrics={k: float(v) for k, v in result.metrics.items()},
                target=None if item.target is None else asdict(item.target),
                verdict=verdict.verdict,
                reason=verdict.reason,
                dataset=result.dataset,
                proxy=result.proxy,
                duration_s=round(duration, 3),
                peak_rss_mb=round(peak_rss_mb(), 1),
                mlflow_run_id=run_id,
                artifacts=sorted(result.artifacts),
                notes=list(result.notes),
            )
            params: dict[str, str] = {}
            _flatten("", OmegaConf.to_container(cfg, resolve=True), params)
            params.pop("output_dir", None)
            _flatten("result", result.params, params)
            command = " ".join(["roadmap run", item_id, "--scale", scale, *(overrides or [])])
            extra = {"hardware": machine.describe(), "command": command}
            _record(client, run_id, item, report, verdict, params, result, work, extra)
            lineage.log_data_tags(client, run_id, used, settings)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _record(
    client: Any,
    run_id: str,
    item: Item,
    report: RunReport,
    verdict: Verdict,
    params: dict[str, str],
    result: Result,
    work: Path,
    extra_tags: dict[str, str] | None = None,
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    metrics = dict(report.metrics, duration_s=report.duration_s, peak_rss_mb=report.peak_rss_mb)
    tags = {
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "dataset": report.dataset,
        "proxy": str(report.proxy).lower(),
        "git_sha": git_sha(),
        "target": item.target.describe(report.scale) if item.target else "",
        "metric": item.target.metric if item.target else "",
        **(extra_tags or {}),
    }
    client.log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
        params=[Param(k, v) for k, v in params.items()],
        tags=[RunTag("roadmap." + k, v) for k, v in tags.items()],
    )
    for name, path in result.artifacts.items():
        path = Path(path)
        if path.is_dir():
            client.log_artifacts(run_id, str(path), artifact_path=name)
        elif path.exists():
            client.log_artifact(run_id, str(path))
    model = Path(result.model_path) if result.model_path is not None else None
    if model is not None and model.is_dir() and (model / CARD_FILE).exists():
        from ai_roadmap.tracking import register_model

        client.log_artifacts(run_id, str(model), artifact_path="model")
        version = register_model(client, item.id, run_id, verdict.verdict, report.scale)
        client.set_tag(run_id, "roadmap.model_version", version)
    elif model is not None and model.exists():
        client.log_artifact(run_id, str(model), artifact_path="model")
    summary = work / "result.json"
    summary.write_text(report.to_json(), encoding="utf-8")
    client.log_artifact(run_id, str(summary))
