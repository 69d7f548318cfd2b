"""Drills against a running continuous-training setup: the live canary router, a failed retrain.

* :func:`routing_drill` gives a folder a share of the keys through the routing
  file, sends every key twice to the running service and compares the arm each
  answer came from (``X-Model-Role``) with the hash rule of
  :mod:`ai_roadmap.serving.canary`: the share seen, the keys that stayed on their
  arm, the keys on the arm the hash says; then restores the champion alone.
* :func:`fault_drill` runs the flow on one month whose retrain task raises after
  uploading the challenger and before registering it — where a crash could leave
  a half-registered model — and reads back the registry and the service.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from ai_roadmap.mlops.flow import Context


def routing_drill(ctx: Context, folder: str, share: float, n_keys: int) -> dict[str, float]:
    """Give ``folder`` ``share`` of the keys; send ``n_keys`` reference keys twice; restore."""
    from ai_roadmap.mlops.canary import predict, records
    from ai_roadmap.mlops.stream import LABEL
    from ai_roadmap.serving.canary import (
        CHALLENGER,
        CHAMPION,
        Routing,
        goes_to_challenger,
        routing_path,
        write_routing,
    )

    path = routing_path(ctx.model_dir, ctx.served)
    salt = "drill"
    rows = ctx.reference.drop(columns=LABEL).iloc[:n_keys]
    keys = [str(k) for k in rows.index]
    write_routing(path, Routing(ctx.champion_folder, folder, share, salt))
    try:
        body = list(zip(records(rows), keys, strict=True))
        first = [predict(ctx.url, ctx.served, r, k).role for r, k in body]
        second = [predict(ctx.url, ctx.served, r, k).role for r, k in body]
    finally:
        write_routing(path, Routing(ctx.champion_folder))
    expected = [CHALLENGER if goes_to_challenger(k, salt, share) else CHAMPION for k in keys]
    n = len(keys)
    return {
        "drill_share_set": share,
        "drill_share_seen": sum(r == CHALLENGER for r in first) / n,
        "drill_sticky_share": sum(a == b for a, b in zip(first, second, strict=True)) / n,
        "drill_matches_hash": sum(a == b for a, b in zip(first, expected, strict=True)) / n,
    }


def fault_drill(ctx: Context, drift_month: Any) -> dict[str, Any]:
    """A flow run whose retrain raises before registering: registry and service unchanged.

    The month is forced to retrain (as the bad-challenger month is), so the drill
    always reaches the registration it interrupts.
    """
    from ai_roadmap.mlops import challenger as reg
    from ai_roadmap.mlops.canary import predict, records
    from ai_roadmap.mlops.flow import console_level, run_flow
    from ai_roadmap.mlops.stream import LABEL, Month
    from ai_roadmap.tracking import client

    mlflow_client, _ = client(ctx.settings)
    before = reg.version_numbers(mlflow_client, ctx.model_name)
    month = Month(99, drift_month.kind, drift_month.frame)
    policy = replace(ctx.policy, fail_register_month=99, bad_challenger_month=99)
    drill = replace(ctx, months=[month], history=list(ctx.history), policy=policy)
    raised = ""
    try:
        with console_level(logging.CRITICAL):  # its failure is the point of the drill
            run_flow(drill, name="continuous-training-fault-drill")
    except Exception as exc:  # the flow run fails with the task's exception
        raised = f"{type(exc).__name__}: {exc}"
    rows = drift_month.frame.drop(columns=LABEL).iloc[:20]
    keys = [str(k) for k in rows.index]
    answers = [predict(ctx.url, ctx.served, r, k) for r, k in zip(records(rows), keys, strict=True)]
    return {
        "raised": raised,
        "versions_before": before,
        "versions_after": reg.version_numbers(mlflow_client, ctx.model_name),
        "champion_after": reg.alias_version(mlflow_client, ctx.model_name, reg.CHAMPION),
        "challenger_after": reg.alias_version(mlflow_client, ctx.model_name, reg.CHALLENGER),
        "served_versions": sorted({a.version for a in answers}),
    }
