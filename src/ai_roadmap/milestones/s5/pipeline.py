"""s5.pipeline — continuous training: drift → retrain → canary → automatic rollback, in Prefect.

1. **Stream** (:mod:`ai_roadmap.mlops.stream`): the Telco table shuffled with
   ``seed``; a reference period and ``stream.kinds`` months of ``month_rows``
   customers, each clean or with a named drift injected (shifted tenure/charges,
   a new contract mix, a broken column all-null or in cents, label drift).
2. **First champion**: the churn logistic regression on the reference period,
   registered in the run's MLflow registry as ``<model_name>@champion`` and
   exported for the service.
3. **Service**: the stage-2 service (Gunicorn + FastAPI, ``roadmap serve``'s
   command) started on 127.0.0.1 in its own process group over that export; the
   flow steers it through the routing file (:mod:`ai_roadmap.serving.canary`).
4. **Flow** (:mod:`ai_roadmap.mlops.flow`): one Prefect flow run over the months —
   validate / quarantine, PSI-CSI drift, retrain, gate, canary, promote or roll
   back. Month ``policy.bad_challenger_month`` gets a challenger trained on
   shuffled labels, sent to the canary past the offline gate so that the
   rollback is exercised — and timed — in every run.
5. **Drills**: the router's share and stickiness against the live service; a
   second flow run whose retrain task raises after uploading the model and before
   registering it: the registry and the service must be as before.

Figures: the drift confusion per month (injected vs acted on), quarantines,
champion vs challenger AUC per month, ``rollback_seconds`` (and the catalog's
``rollback_minutes``), each with the checks counted into ``checks_failed``.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.config import typed
from ai_roadmap.errors import UsageError
from ai_roadmap.mlops.flow import Policy
from ai_roadmap.mlops.stream import BROKEN, CLEAN, KINDS, Injection
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ai_roadmap.mlops.flow import Context

SERVED = "churn"  # the service's route: /v1/churn/predict
ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "HF_HUB_OFFLINE": "1",
    "DVC_NO_ANALYTICS": "1",
}


@dataclass(frozen=True)
class Stream:
    reference_rows: int = 2500
    month_rows: int = 400
    kinds: list[str] = field(default_factory=lambda: [CLEAN, "tenure_charges", "null_column"])
    injection: Injection = field(default_factory=Injection)

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"stream.kinds must be among {', '.join(KINDS)}; got {unknown}")
        if self.month_rows < 40:
            raise ValueError("stream.month_rows must be >= 40")


@dataclass(frozen=True)
class Serving:
    workers: int = 2
    ready_timeout_s: float = 120.0
    drill_keys: int = 200  # keys sent twice for the live share / stickiness check


@dataclass(frozen=True)
class Config:
    seed: int = 0
    model_name: str = "s5.pipeline.churn"
    prefect_home: str = "project"  # project: <ROADMAP_HOME>/prefect | run: inside the run
    prefect_timeout_s: float = 120.0
    stream: Stream = field(default_factory=Stream)
    policy: Policy = field(default_factory=Policy)
    serving: Serving = field(default_factory=Serving)
    rollback_bar_s: float = 30.0  # ours; the roadmap's is 5 minutes
    fault_drill: bool = True

    def __post_init__(self) -> None:
        if self.prefect_home not in ("project", "run"):
            raise ValueError("prefect_home must be project or run")
        months = len(self.stream.kinds)
        bad = self.policy.bad_challenger_month
        if not 1 <= bad <= months or self.stream.kinds[bad - 1] in BROKEN:
            raise ValueError(
                f"policy.bad_challenger_month must name one of the {months} months that is "
                "not a broken-column month (its batch would be quarantined)"
            )


# ── the first champion and the service ──────────────────────────────────────────────


def first_champion(c: Config, reference: Any, out: Path, model_dir: Path) -> tuple[str, str]:
    """Train on the reference, register ``@champion``, export; (version, served folder)."""
    from ai_roadmap.mlops import challenger as reg
    from ai_roadmap.serving.canary import Routing, routing_path, write_routing
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import client

    model = reg.train_churn_model(reference, c.policy.C, c.seed)
    folder = reg.save_churn_model(model, reference, c.model_name, out / "trained" / "m00")
    mlflow_client, experiment = client(get_settings())
    tags = {"roadmap.month": "0", "roadmap.drift": "reference"}
    version = reg.register_version(
        mlflow_client, experiment, c.model_name, folder, tags, reg.CHAMPION
    )
    served = reg.export_version(mlflow_client, c.model_name, version, model_dir, SERVED)
    shutil.copytree(model_dir / served, model_dir / SERVED)  # what the service starts with
    write_routing(routing_path(model_dir, SERVED), Routing(served))
    return version, served


def service_settings(model_dir: Path) -> Any:
    from ai_roadmap.settings import Settings, get_settings

    base = get_settings()
    return Settings(home=base.home, serve_models=SERVED, serve_model_dir=model_dir)


# ── figures and checks ──────────────────────────────────────────────────────────────


def confusion(months: list[dict[str, Any]]) -> dict[str, float]:
    """Drift acted on vs injected (accepted months), quarantined vs broken (all months)."""
    accepted = [m for m in months if not m["quarantined"]]
    drifted = [m["kind"] != CLEAN for m in accepted]
    acted = [bool(m.get("acted")) for m in accepted]
    broken = [m["kind"] in BROKEN for m in months]
    held = [m["quarantined"] for m in months]

    def count(truth: list[bool], flag: list[bool], t: bool, f: bool) -> float:
        return float(sum(a == t and b == f for a, b in zip(truth, flag, strict=True)))

    return {
        "drift_tp": count(drifted, acted, True, True),
        "drift_fp": count(drifted, acted, False, True),
        "drift_fn": count(drifted, acted, True, False),
        "drift_tn": count(drifted, acted, False, False),
        "quarantine_tp": count(broken, held, True, True),
        "quarantine_fp": count(broken, held, False, True),
        "quarantine_fn": count(broken, held, True, False),
    }


def month_metrics(months: list[dict[str, Any]]) -> dict[str, float]:
    """Per-month AUCs and largest index, and the counts of each outcome."""
    metrics: dict[str, float] = {}
    for m in months:
        k = f"m{m['month']:02d}"
        for name in ("champion_auc", "challenger_auc", "max_index"):
            if name in m:
                metrics[f"{name}_{k}"] = float(m[name])
    outcomes = [m["outcome"] for m in months]
    for outcome in ("promoted", "rolled-back", "rejected"):
        metrics[f"n_{outcome.replace('-', '_')}"] = float(outcomes.count(outcome))
    metrics["months"] = float(len(months))
    metrics["months_quarantined"] = float(sum(m["quarantined"] for m in months))
    metrics["retrains"] = float(sum("challenger_version" in m for m in months))
    rollbacks = [m["rollback_seconds"] for m in months if "rollback_seconds" in m]
    if rollbacks:
        metrics["rollback_seconds"] = max(rollbacks)
        metrics["rollback_minutes"] = max(rollbacks) / 60
    return metrics


Check = tuple[str, bool, str]  # (name, passed, what was seen)


def stream_checks(m: dict[str, float], months: list[dict[str, Any]]) -> list[Check]:
    """Drift found where injected and only there; broken batches held, never retrained on."""
    held = [x for x in months if x["quarantined"]]
    broken = sum(x["kind"] in BROKEN for x in months)
    no_retrain = all("challenger_version" not in x for x in held)
    written = all(Path(x["folder"], "reason.txt").exists() for x in held)
    return [
        ("drift_found_where_injected", m["drift_fn"] == 0, f"{m['drift_fn']:g} missed"),
        ("no_drift_in_clean_months", m["drift_fp"] == 0, f"{m['drift_fp']:g} acted on"),
        (
            "broken_batches_quarantined",
            m["quarantine_fn"] == 0 and m["quarantine_fp"] == 0,
            f"{m['quarantine_tp']:g} of {broken} broken months held, "
            f"{m['quarantine_fp']:g} good months held",
        ),
        (
            "quarantine_never_retrains",
            bool(held) and no_retrain and written,
            f"{len(held)} held; no challenger for them: {no_retrain}; reason.txt: {written}",
        ),
    ]


def rollback_checks(c: Config, m: dict[str, float], months: list[dict[str, Any]]) -> list[Check]:
    """The bad challenger rolled back in time, and the offline gate would have stopped it."""
    bad = next(x for x in months if x["month"] == c.policy.bad_challenger_month)
    nan = float("nan")
    seconds = m.get("rollback_seconds", nan)
    return [
        (
            "bad_challenger_rolled_back",
            bad.get("outcome") == "rolled-back" and bool(bad.get("rollback_served")),
            f"month {bad['month']}: {bad.get('outcome')}; {bad.get('why', '')}",
        ),
        (
            "offline_gate_would_stop_bad_challenger",
            bad.get("gate_passed") is False,
            f"AUC {bad.get('challenger_auc', nan):.3f} vs champion "
            f"{bad.get('champion_auc', nan):.3f}",
        ),
        (
            "rollback_within_bar",
            seconds < c.rollback_bar_s,
            f"{seconds:.3f} s < {c.rollback_bar_s:g} s",
        ),
    ]


def drill_checks(c: Config, drills: dict[str, Any]) -> list[Check]:
    """The flow run completed; the live router's share and stickiness; the fault drill."""
    rows = [("flow_run_completed", bool(drills["flow_completed"]), drills["flow_state"])]
    if "drill_share_seen" in drills:
        share, seen = drills["drill_share_set"], drills["drill_share_seen"]
        sticky, hashed = drills["drill_sticky_share"], drills["drill_matches_hash"]
        ok = abs(seen - share) < 0.15 and sticky == 1.0 and hashed == 1.0
        detail = (
            f"challenger share {seen:.2f} of {c.serving.drill_keys} keys for {share:g}; "
            f"same arm on repeat {sticky:.0%}; arm as hashed {hashed:.0%}"
        )
        rows.append(("canary_share_and_stickiness_live", ok, detail))
    if "fault" in drills:
        f = drills["fault"]
        ok = bool(f["raised"]) and f["versions_after"] == f["versions_before"]
        ok = ok and f["champion_after"] == drills["champion"] and f["challenger_after"] is None
        ok = ok and f["served_versions"] == [drills["champion"]]
        detail = (
            f"{f['raised'][:80]}; versions {len(f['versions_before'])} → "
            f"{len(f['versions_after'])}; @champion v{f['champion_after']}, @challenger "
            f"{f['challenger_after']}; service answered v{','.join(f['served_versions'])}"
        )
        rows.append(("failed_retrain_leaves_champion", ok, detail))
    return rows


# ── artefacts and notes ─────────────────────────────────────────────────────────────


def plot_months(months: list[dict[str, Any]], path: Path) -> Path:
    """Largest drift index and champion / challenger AUC per month, outcomes marked."""
    from ai_roadmap.plots import figure

    x = [m["month"] for m in months]
    with figure(path, nrows=2, figsize=(8, 6), dpi=110, sharex=True) as (_, (top, low)):
        index = [m.get("max_index", float("nan")) for m in months]
        top.bar(x, [min(v, 3.0) for v in index], color="tab:blue")
        top.axhline(0.25, color="tab:red", linestyle="--", label="act (0.25)")
        top.axhline(0.1, color="tab:orange", linestyle=":", label="watch (0.1)")
        for m in months:
            label = "quarantined" if m["quarantined"] else m["kind"]
            top.annotate(label, (m["month"], 0.02), rotation=90, fontsize=7, ha="center")
        top.set(ylabel="largest PSI/CSI (capped at 3)", title="Drift per month")
        top.legend(fontsize=7)
        low.plot(x, [m.get("champion_auc", float("nan")) for m in months], "o-", label="champion")
        low.plot(
            x, [m.get("challenger_auc", float("nan")) for m in months], "s", label="challenger"
        )
        for m in months:
            if m.get("outcome") in ("promoted", "rolled-back", "rejected"):
                low.annotate(m["outcome"], (m["month"], m.get("challenger_auc", 0.5)), fontsize=7)
        low.set(xlabel="month", ylabel="AUC (evaluation part)", title="Champion vs challenger")
        low.legend(fontsize=7)
    return path


def write_artefacts(
    out: Path, months: list[dict[str, Any]], drills: dict[str, Any]
) -> dict[str, Path]:
    import json

    rows = [{k: v for k, v in m.items() if k != "indices"} for m in months]
    (out / "pipeline.json").write_text(
        json.dumps({"months": rows, "drills": drills}, indent=2, default=str), encoding="utf-8"
    )
    header = "| month | kind | decision | largest index | champion AUC | challenger AUC | outcome |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for m in months:
        index = f"{m['max_feature']} {m['max_index']:.3f}" if "max_index" in m else "—"
        champ, chall = m.get("champion_auc"), m.get("challenger_auc")
        lines.append(
            f"| {m['month']} | {m['kind']} | {m['decision']} | {index} | "
            f"{'—' if champ is None else f'{champ:.3f}'} | "
            f"{'—' if chall is None else f'{chall:.3f}'} | {m['outcome']} |"
        )
    (out / "pipeline.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    artefacts = {
        "pipeline.json": out / "pipeline.json",
        "pipeline.md": out / "pipeline.md",
        "pipeline.png": plot_months(months, out / "pipeline.png"),
    }
    if (out / "quarantine").exists():
        artefacts["quarantine"] = out / "quarantine"
    return artefacts


def month_notes(months: list[dict[str, Any]]) -> list[str]:
    notes = []
    for m in months:
        head = f"month {m['month']} ({m['kind']})"
        if m["quarantined"]:
            notes.append(f"{head}: quarantined — {m['reason']}")
            continue
        text = f"{head}: largest index {m['max_feature']} {m['max_index']:.3f}"
        text += f", acted on {', '.join(m['acted'])}" if m["acted"] else ", no index above 0.25"
        text += f"; champion v{m['champion_version']} AUC {m['champion_auc']:.3f}"
        if "challenger_version" in m:
            bad = (
                " (trained on shuffled labels: the injected bad challenger)"
                if m["bad_challenger"]
                else ""
            )
            text += f"; challenger v{m['challenger_version']}{bad} AUC {m['challenger_auc']:.3f}"
            text += f" on {m['train_rows']} training rows → {m['outcome']}"
            if "why" in m:
                text += f" ({m['why']})"
            if "rollback_seconds" in m:
                seconds, keys = m["rollback_seconds"], m["rollback_keys"]
                text += f"; rolled back in {seconds:.3f} s ({keys} keys asked again)"
        notes.append(text)
    return notes


# ── the milestone ───────────────────────────────────────────────────────────────────


def _context(c: Config, out: Path, model_dir: Path, url: str) -> Context:
    from ai_roadmap.artifacts import read_card
    from ai_roadmap.datasets.churn import load_telco
    from ai_roadmap.mlops.flow import Context
    from ai_roadmap.mlops.schema import pandera_schema
    from ai_roadmap.mlops.stream import LABEL, monthly_stream, split_reference
    from ai_roadmap.settings import get_settings

    table, _ = load_telco()
    s = c.stream
    try:
        reference, pool = split_reference(table, s.reference_rows, c.seed)
    except ValueError as exc:
        raise UsageError(f"stream.{exc}") from None
    months = monthly_stream(pool, list(s.kinds), s.month_rows, s.injection, c.seed)
    ctx = Context(c.policy, c.model_name, SERVED, model_dir, url, out, reference, months,
                  get_settings(), c.seed)  # fmt: skip
    ctx.champion, ctx.champion_folder = first_champion(c, reference, out, model_dir)
    nulls = reference.drop(columns=LABEL).isna().mean().to_dict()
    ctx.schema = pandera_schema(read_card(model_dir / ctx.champion_folder).input_schema, nulls)
    return ctx


def _run_all(c: Config, out: Path) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, float]]:
    """First champion, the service, Prefect, the flow and the drills; everything stopped after."""
    from ai_roadmap.mlops.drills import fault_drill, routing_drill
    from ai_roadmap.mlops.flow import console_level, prefect_api, run_flow
    from ai_roadmap.serving.server import running_server
    from ai_roadmap.settings import get_settings

    model_dir = out / "serving"
    ctx = _context(c, out, model_dir, "")
    home = get_settings().home_dir / "prefect" if c.prefect_home == "project" else out / "prefect"
    timings: dict[str, float] = {}
    service = service_settings(model_dir)
    with (
        console_level(logging.WARNING),
        running_server(service, c.serving.workers, None, c.serving.ready_timeout_s, ENV) as server,
        prefect_api(home, c.prefect_timeout_s) as (_, prefect_s),
    ):
        ctx.url = server.url
        timings |= {"service_ready_s": server.ready_s, "prefect_start_s": prefect_s}
        started = time.perf_counter()
        months, state = run_flow(ctx)
        timings["flow_seconds"] = time.perf_counter() - started
        drills: dict[str, Any] = {"flow_completed": state.is_completed(), "flow_state": state.name}
        rolled = [m for m in months if m.get("outcome") == "rolled-back"]
        if rolled:
            folder = f"{SERVED}@v{rolled[0]['challenger_version']}"
            drills |= routing_drill(ctx, folder, c.policy.canary_share, c.serving.drill_keys)
        drifted = next((ctx.months[m["month"] - 1] for m in months if m.get("acted")), None)
        if c.fault_drill and drifted is not None:
            drills["fault"] = fault_drill(ctx, drifted)
        drills["champion"] = ctx.champion
    return months, drills, timings


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)  # a bad value is a one-line UsageError naming the key
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    months, drills, timings = _run_all(c, out)
    metrics = confusion(months) | month_metrics(months) | timings
    found = (
        stream_checks(metrics, months)
        + rollback_checks(c, metrics, months)
        + drill_checks(c, drills)
    )
    metrics["checks"] = float(len(found))
    metrics["checks_failed"] = float(sum(not ok for _, ok, _ in found))
    notes = [
        f"stream: Telco churn shuffled with seed {c.seed}; reference {c.stream.reference_rows} "
        f"customers; {len(months)} months of {c.stream.month_rows} ({', '.join(c.stream.kinds)})",
        f"flow: one Prefect flow run ({drills['flow_state']}) in {timings['flow_seconds']:.1f} s; "
        f"Prefect API started in {timings['prefect_start_s']:.1f} s (0: one was already set); "
        f"service (Gunicorn, {c.serving.workers} workers, 127.0.0.1) ready in "
        f"{timings['service_ready_s']:.1f} s",
        f"drift confusion (accepted months, acted = an index > 0.25): TP {metrics['drift_tp']:g}, "
        f"FP {metrics['drift_fp']:g}, FN {metrics['drift_fn']:g}, TN {metrics['drift_tn']:g}",
        *month_notes(months),
        "rollback time: from the canary verdict to the moment every key the challenger had "
        "served is answered by the previous champion's version, over HTTP, fresh connections",
        *(f"{'pass' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in found),
    ]
    return Result(
        metrics=metrics,
        dataset="IBM Telco churn as a simulated monthly stream with injected drift",
        proxy=False,
        artifacts=write_artefacts(out, months, drills),
        params={"registered_model": c.model_name, "champion_at_end": drills["champion"]},
        notes=notes,
    )
