"""The continuous-training flow (Prefect 3): drift → retrain → canary → promote or roll back.

One flow run walks the monthly stream (:mod:`ai_roadmap.mlops.stream`); each
month is a sequence of Prefect tasks:

1. **validate** the batch against the champion's card schema (:mod:`ai_roadmap.mlops.schema`);
   a failing batch is quarantined and the month ends there (no drift figures,
   no retraining, never used for training later);
2. **drift**: PSI / CSI of every feature against the reference period and CSI of
   the label (:func:`ai_roadmap.mlops.drift.feature_drift`); the month is
   **acted on** when any index is in the ``act`` band (> 0.25);
3. the month is split (stratified, seeded): ``train_share`` joins the training
   window, the rest is the **evaluation** part, on which the champion's AUC is
   taken every month;
4. **retrain** (acted-on months): a challenger on the reference + the training
   parts of the last ``window`` accepted months, registered as ``@challenger``;
5. **gate**: challenger AUC ≥ champion AUC − ``gate_tolerance`` on the evaluation part,
   else the challenger is rejected;
6. **canary** (:mod:`ai_roadmap.mlops.canary`): the routing file gives the
   challenger ``canary_share`` of the keys; the evaluation part is sent through the
   running service; the challenger is **promoted** (``@champion`` moves, the
   routing file names it) or **rolled back** (routing to the champion alone,
   ``@challenger`` removed) with the rollback timed.

The reference period stays fixed: months are sampled independently, so a
clean month after a drifted one is again close to the reference.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ai_roadmap.mlops import challenger as reg
from ai_roadmap.mlops import stream
from ai_roadmap.mlops.drift import ACT, feature_drift
from ai_roadmap.serving.canary import CHALLENGER, Routing, routing_path, write_routing


@dataclass(frozen=True)
class Policy:
    """What the flow decides with, and the faults it injects."""

    C: float = 1.0  # inverse L2 strength of the churn logistic regression
    window: int = 3  # latest accepted months (this one included) whose training parts join
    train_share: float = 0.5  # of each accepted month; the rest is the evaluation part
    gate_tolerance: float = 0.01  # offline: challenger AUC ≥ champion AUC − this
    canary_share: float = 0.5  # of routing keys sent to the challenger
    auc_margin: float = 0.1  # live: roll back when challenger AUC < champion AUC − this
    error_margin: float = 0.02  # live: … or its error rate exceeds the champion's by this
    rollback_timeout_s: float = 60.0
    bad_challenger_month: int = 0  # this month's challenger learns shuffled labels (0: none)
    fail_register_month: int = 0  # raise inside the retrain task of this month (0: none)

    def __post_init__(self) -> None:
        if not 0 < self.train_share < 1 or not 0 < self.canary_share < 1:
            raise ValueError("train_share and canary_share must be in (0, 1)")
        if self.window < 1:
            raise ValueError("window must be >= 1")


@dataclass
class Context:
    """What every task of a flow run shares (kept out of Prefect's parameters)."""

    policy: Policy
    model_name: str  # the registered model
    served: str  # the service's model name (route /v1/<served>/predict)
    model_dir: Path
    url: str
    out: Path
    reference: pd.DataFrame
    months: list[stream.Month]
    settings: Any
    seed: int = 0
    champion: str = ""  # version
    champion_folder: str = ""
    schema: Any = None
    history: list[pd.DataFrame] = field(default_factory=list)


class InjectedFault(RuntimeError):
    """Raised by the fault drill inside a retrain, as a crash would stop it."""


# ── tasks ────────────────────────────────────────────────────────────────────────────


def _task(fn: Any) -> Any:
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    return task(fn, cache_policy=NO_CACHE, persist_result=False, retries=0)


def validate_month(ctx: Context, month: stream.Month) -> dict[str, Any]:
    """Schema check; a failing batch is quarantined with its reason."""
    from ai_roadmap.mlops.schema import quarantine, validate

    check = validate(month.frame.drop(columns=stream.LABEL), ctx.schema)
    if check.ok:
        return {"quarantined": False, "reason": ""}
    folder = quarantine(
        month.frame, check.reason, ctx.out / "quarantine" / f"month-{month.index:02d}"
    )
    return {"quarantined": True, "reason": check.reason, "folder": str(folder)}


def drift_month(ctx: Context, month: stream.Month) -> dict[str, Any]:
    """PSI/CSI per feature and the label's CSI against the reference; the decision."""
    found = feature_drift(ctx.reference, month.frame)
    worst = max(found, key=lambda d: d.value)
    acted = [d.feature for d in found if d.band == ACT]
    return {
        "indices": {d.feature: d.value for d in found},
        "max_feature": worst.feature,
        "max_index": worst.value,
        "acted": acted,
        "decision": "retrain" if acted else "keep",
    }


def _split(frame: pd.DataFrame, share: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    y = frame[stream.LABEL]
    stratify = y if y.nunique() > 1 and y.value_counts().min() >= 2 else None
    return train_test_split(frame, train_size=share, stratify=stratify, random_state=seed)


def champion_auc(ctx: Context, evaluation: pd.DataFrame) -> float:
    """The champion's AUC on the evaluation part (loaded from its exported folder)."""
    from ai_roadmap.artifacts import load_model
    from ai_roadmap.mlops.canary import rank_auc

    model, _ = load_model(ctx.model_dir / ctx.champion_folder)
    p = model.predict_proba(evaluation.drop(columns=stream.LABEL))[:, 1]
    return rank_auc(evaluation[stream.LABEL].to_numpy(), p)


def retrain(ctx: Context, month: stream.Month, evaluation: pd.DataFrame) -> dict[str, Any]:
    """Train on the window, register ``@challenger`` (all or nothing), its AUC, its folder."""
    from ai_roadmap.mlops.canary import rank_auc
    from ai_roadmap.tracking import client

    p = ctx.policy
    train = pd.concat([ctx.reference, *ctx.history[-p.window :]])
    bad = month.index == p.bad_challenger_month
    model = reg.train_churn_model(train, p.C, ctx.seed + month.index, shuffle_labels=bad)
    p_eval = model.predict_proba(evaluation.drop(columns=stream.LABEL))[:, 1]
    auc = rank_auc(evaluation[stream.LABEL].to_numpy(), p_eval)
    folder = reg.save_churn_model(
        model, train, ctx.model_name, ctx.out / "trained" / f"m{month.index:02d}"
    )

    def drill() -> None:
        if month.index == p.fail_register_month:
            raise InjectedFault(f"fault drill: retrain of month {month.index} stopped mid-task")

    mlflow_client, experiment = client(ctx.settings)
    tags = {"roadmap.month": str(month.index), "roadmap.drift": month.kind, "roadmap.bad": str(bad)}
    version = reg.register_version(
        mlflow_client, experiment, ctx.model_name, folder, tags, CHALLENGER, drill
    )
    served_folder = reg.export_version(
        mlflow_client, ctx.model_name, version, ctx.model_dir, ctx.served
    )
    return {"version": version, "folder": served_folder, "auc": auc, "rows": len(train), "bad": bad}


def canary(
    ctx: Context, month: int, trained: dict[str, Any], evaluation: pd.DataFrame
) -> dict[str, Any]:
    """Share keys with the challenger, send the evaluation part, promote or roll back."""
    from ai_roadmap.mlops import canary as cn
    from ai_roadmap.tracking import client

    p = ctx.policy
    path = routing_path(ctx.model_dir, ctx.served)
    salt = f"m{month}-v{trained['version']}"
    write_routing(path, Routing(ctx.champion_folder, trained["folder"], p.canary_share, salt))
    keys = [str(k) for k in evaluation.index]
    features = evaluation.drop(columns=stream.LABEL)
    answers = cn.send(ctx.url, ctx.served, features, keys)
    labels = dict(zip(keys, evaluation[stream.LABEL].astype(int), strict=True))
    arms = cn.arm_figures(answers, labels)
    worse, why = cn.challenger_worse(arms, p.auc_margin, p.error_margin)
    detected = time.perf_counter()  # the rollback clock starts at the verdict
    result = {"arms": arms, "why": why, "share_seen": arms[CHALLENGER]["n"] / max(1, len(keys))}
    if not worse:
        mlflow_client, _ = client(ctx.settings)
        reg.promote(mlflow_client, ctx.model_name, trained["version"])
        write_routing(path, Routing(trained["folder"]))
        ctx.champion, ctx.champion_folder = trained["version"], trained["folder"]
        return result | {"outcome": "promoted"}
    timed = rollback(ctx, trained, answers, features, keys, detected)
    return result | {"outcome": "rolled-back"} | timed


def rollback(
    ctx: Context,
    trained: dict[str, Any],
    answers: list[Any],
    features: pd.DataFrame,
    keys: list[str],
    detected: float,
) -> dict[str, Any]:
    """Route back to the champion alone and drop ``@challenger``; timed until served.

    ``rollback_seconds`` runs from ``detected`` (the verdict) until one full pass over
    the keys the challenger served is answered with the champion's version.
    """
    from ai_roadmap.mlops import canary as cn
    from ai_roadmap.tracking import client

    write_routing(routing_path(ctx.model_dir, ctx.served), Routing(ctx.champion_folder))
    mlflow_client, _ = client(ctx.settings)
    reg.drop_challenger(mlflow_client, ctx.model_name, trained["version"], "rolled-back")
    on_challenger = {a.key for a in answers if a.role == CHALLENGER}
    rows = cn.records(features)
    picked = [(r, k) for r, k in zip(rows, keys, strict=True) if k in on_challenger]
    done, passes = cn.wait_for_version(
        ctx.url, ctx.served, [r for r, _ in picked], [k for _, k in picked], ctx.champion,
        ctx.policy.rollback_timeout_s,
    )  # fmt: skip
    seconds = time.perf_counter() - detected
    return {"rollback_seconds": seconds, "rollback_served": done, "rollback_keys": len(picked),
            "rollback_passes": passes}  # fmt: skip


# ── the flow ─────────────────────────────────────────────────────────────────────────


def process_month(ctx: Context, month: stream.Month) -> dict[str, Any]:
    """One month through the tasks; the month's record."""
    from ai_roadmap.tracking import client

    row: dict[str, Any] = {"month": month.index, "kind": month.kind, "injected": month.injected}
    row |= _task(validate_month).with_options(name=f"validate m{month.index}")(ctx, month)
    if row["quarantined"]:
        return row | {"decision": "quarantine", "outcome": "none"}
    row |= _task(drift_month).with_options(name=f"drift m{month.index}")(ctx, month)
    train_part, evaluation = _split(month.frame, ctx.policy.train_share, ctx.seed + month.index)
    ctx.history.append(train_part)
    row["champion_version"] = ctx.champion
    row["champion_auc"] = champion_auc(ctx, evaluation)
    forced = month.index == ctx.policy.bad_challenger_month
    if row["decision"] != "retrain" and not forced:
        return row | {"outcome": "none"}
    trained = _task(retrain).with_options(name=f"retrain m{month.index}")(ctx, month, evaluation)
    row |= {"challenger_version": trained["version"], "challenger_auc": trained["auc"],
            "bad_challenger": trained["bad"], "train_rows": trained["rows"]}  # fmt: skip
    gate = trained["auc"] >= row["champion_auc"] - ctx.policy.gate_tolerance
    row["gate_passed"] = gate
    if not gate and not trained["bad"]:  # the bad one is sent on to exercise the rollback
        mlflow_client, _ = client(ctx.settings)
        reg.drop_challenger(mlflow_client, ctx.model_name, trained["version"], "rejected")
        return row | {"outcome": "rejected"}
    run_canary = _task(canary).with_options(name=f"canary m{month.index}")
    return row | run_canary(ctx, month.index, trained, evaluation)


# the contexts of running flows, by id: Prefect sends a flow's parameters to its API as
# JSON, so the flow takes a short id and finds its data frames here
_CONTEXTS: dict[str, Context] = {}


def continuous_training(context_id: str) -> list[dict[str, Any]]:
    """The flow body: every month of the context's stream in order; their records."""
    ctx = _CONTEXTS[context_id]
    return [process_month(ctx, month) for month in ctx.months]


def run_flow(ctx: Context, name: str = "continuous-training") -> tuple[list[dict[str, Any]], Any]:
    """Run the flow once under Prefect; (month records, the flow run's final state).

    A task that raises fails the flow run, and the exception reaches the caller.
    """
    import uuid

    from prefect import flow

    context_id = uuid.uuid4().hex
    _CONTEXTS[context_id] = ctx
    try:
        wrapped = flow(name=name, validate_parameters=False, log_prints=False)(continuous_training)
        state = wrapped(context_id, return_state=True)
        return state.result(raise_on_failure=True), state
    finally:
        _CONTEXTS.pop(context_id, None)


@contextmanager
def prefect_api(home: Path, timeout_s: float) -> Iterator[tuple[str, float]]:
    """A Prefect API for this block: (its URL, seconds it took to start; 0 when one was set).

    With ``PREFECT_API_URL`` set (a user's Prefect server, or ``prefect_test_harness``)
    flows report there. Otherwise a temporary local server (Prefect's own
    ``SubprocessASGIServer``, uvicorn on 127.0.0.1) is started with ``PREFECT_HOME``
    = ``home`` and analytics off, and stopped when the block ends, also on failure.
    """
    import prefect.settings as ps
    from prefect.server.api.server import SubprocessASGIServer

    from ai_roadmap.serving.server import free_port

    updates = {ps.PREFECT_HOME: str(home), ps.PREFECT_SERVER_ANALYTICS_ENABLED: False}
    with ps.temporary_settings(updates=updates):
        url = ps.PREFECT_API_URL.value()
        if url:
            yield url, 0.0
            return
        started = time.perf_counter()
        server = SubprocessASGIServer(port=free_port())
        try:
            server.start(timeout=int(timeout_s))
            with ps.temporary_settings(updates={ps.PREFECT_API_URL: server.api_url}):
                try:
                    yield server.api_url, time.perf_counter() - started
                finally:
                    _drain_prefect_workers()
        finally:
            server.stop()


def _drain_prefect_workers() -> None:
    """Send the queued logs and events before the server goes (else they retry at exit)."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        try:
            logs = APILogWorker.instance().drain()
            if inspect.isawaitable(logs):
                await logs
        except RuntimeError:  # never started
            pass
        events = EventsWorker.drain_all()
        if inspect.isawaitable(events):
            await events

    run_coro_as_sync(drain())


@contextmanager
def console_level(level: int) -> Iterator[None]:
    """Prefect's console handler at ``level`` for the block (the API still gets every log).

    The roadmap prints its own summary; Prefect's per-task INFO lines (and the
    traceback of a fault drill's expected failure) stay in the flow run's logs.
    """
    import logging

    import prefect.main  # noqa: F401  (sets up Prefect's logging)

    handlers = [
        h for h in logging.getLogger().handlers if type(h).__name__ == "PrefectConsoleHandler"
    ]
    before = [h.level for h in handlers]
    for handler in handlers:
        handler.setLevel(level)
    try:
        yield
    finally:
        for handler, old in zip(handlers, before, strict=True):
            handler.setLevel(old)
