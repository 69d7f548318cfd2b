"""The canary on a stream: judge each arm as labels arrive, roll back in the registry, time it.

Predictions are stored with the version that made them (:mod:`.stream_scoring`);
labels arrive later on their own topic. With ``n`` labelled predictions per arm,
the challenger is judged worse when

    n_challenger ≥ min_labelled,  n_champion ≥ min_labelled   and
    accuracy_challenger < accuracy_champion − margin

and is then rolled back by deleting ``@challenger`` in the MLflow registry
(:func:`ai_roadmap.mlops.registry.demote`; the version is tagged why). The members
re-read the aliases before each micro-batch, so the change reaches them without a
restart.

**Rollback window** = (last prediction stored by the bad version) − (detection),
0 when the bad version made none after the verdict: how long bad answers kept
flowing once the problem was known. **Pick-up** = first champion answer, after the
verdict, for a key in the challenger's bucket − detection: when the canary keys
were back on the champion (it waits for such a key to arrive).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CanaryRule:
    share: float = 0.3  # of routing keys to @challenger (sticky by hash)
    min_labelled: int = 50  # labelled predictions per arm before judging
    margin: float = 0.1  # accuracy the challenger may lose before it is rolled back

    def __post_init__(self) -> None:
        if not 0 < self.share < 1:
            raise ValueError("canary.share must be in (0, 1)")
        if self.min_labelled < 1 or not 0 <= self.margin < 1:
            raise ValueError("canary.min_labelled must be ≥ 1 and canary.margin in [0, 1)")


@dataclass
class Verdict:
    """What the judge saw when it decided (or the last look, when it never did)."""

    worse: bool = False
    detect_ms: int = 0
    arms: dict[str, dict[str, float]] = field(default_factory=dict)
    why: str = ""


def judge(
    arms: dict[str, dict[str, float]], champion: str, challenger: str, rule: CanaryRule
) -> str:
    """A sentence saying why the challenger is worse, or '' while it is not (yet)."""
    champ, chall = arms.get(champion), arms.get(challenger)
    if champ is None or chall is None:
        return ""
    if min(champ["n"], chall["n"]) < rule.min_labelled:
        return ""
    if chall["accuracy"] >= champ["accuracy"] - rule.margin:
        return ""
    return (
        f"live accuracy challenger v{challenger} {chall['accuracy']:.3f} "
        f"(n={chall['n']:.0f}) < champion v{champion} {champ['accuracy']:.3f} "
        f"(n={champ['n']:.0f}) − margin {rule.margin:g}"
    )


def roll_back(client: Any, name: str, version: str, why: str) -> None:
    """Delete ``@challenger`` (the members stop using it) and tag the version with why."""
    from ai_roadmap.mlops import registry

    registry.demote(client, name)
    client.set_model_version_tag(name, version, "roadmap.outcome", f"rolled back: {why}")


def rollback_figures(
    db: sqlite3.Connection, bad: str, detect_ms: int, salt: str, share: float
) -> dict[str, float]:
    """Window and pick-up (s), bad predictions after the verdict, members that switched live."""
    from ai_roadmap.serving.canary import goes_to_challenger

    rows = db.execute("SELECT key, version, scored_ms, pid FROM predictions").fetchall()
    bad_rows = [r for r in rows if r[1] == bad]
    last_bad = max((r[2] for r in bad_rows), default=0)
    canary_keys_after = [
        r
        for r in rows
        if r[2] > detect_ms and r[1] != bad and goes_to_challenger(r[0], salt, share)
    ]
    first_back = min((r[2] for r in canary_keys_after), default=None)
    live = {r[3] for r in bad_rows} & {r[3] for r in canary_keys_after}
    return {
        "rollback_seconds": max(0.0, (last_bad - detect_ms) / 1000),
        "bad_after_detection": float(sum(r[2] > detect_ms for r in bad_rows)),
        "bad_predictions": float(len(bad_rows)),
        "rollback_pickup_s": (
            float("nan") if first_back is None else max(0.0, (first_back - detect_ms) / 1000)
        ),
        "canary_keys_back_on_champion": float(len(canary_keys_after)),
        "members_switched_without_restart": float(len(live)),
    }
