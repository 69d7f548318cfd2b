"""The flow's side of a canary: send labelled traffic to the service, judge each arm, roll back.

Each customer of the canary batch is sent to the running service as one
``POST /v1/<name>/predict`` with its key in ``X-Routing-Key``; the service
answers from the champion or the challenger (:mod:`ai_roadmap.serving.canary`)
and says which in ``X-Model-Role`` and the body's ``version``. With the labels
of the batch, each arm gets its **live AUC** (rank AUC of the answered
probabilities) and its **error rate** (share of requests not answered 200).
The challenger is judged worse — and rolled back — when

    AUC_challenger < AUC_champion − auc_margin   or   err_challenger > err_champion + error_margin

**Rollback time** is measured from the moment that verdict is reached to the
moment the service answers every key that the challenger had served with the
previous champion's version (polled on fresh connections, so every Gunicorn
worker is asked).
"""

from __future__ import annotations

import http.client
import json
import math
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ai_roadmap.serving.canary import CHALLENGER, CHAMPION, ROLE_HEADER, ROUTING_HEADER


@dataclass(frozen=True)
class Answer:
    key: str
    status: int
    role: str
    version: str
    probability: float


def records(frame: Any) -> list[dict[str, Any]]:
    """JSON-ready rows (NaN → null, NumPy scalars → Python)."""
    rows = frame.to_dict(orient="records")
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in rows
    ]


def predict(url: str, name: str, record: dict[str, Any], key: str) -> Answer:
    """One request on a fresh connection (so Gunicorn spreads them over its workers)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        body = json.dumps(record, default=lambda v: v.item())
        headers = {"Content-Type": "application/json", ROUTING_HEADER: key}
        conn.request("POST", f"/v1/{name}/predict", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        role = response.getheader(ROLE_HEADER) or ""
        if response.status != 200:
            return Answer(key, response.status, role, "", float("nan"))
        data = json.loads(payload)
        return Answer(key, 200, role, str(data["version"]), float(data["probability"]))
    except (OSError, http.client.HTTPException):
        return Answer(key, 0, "", "", float("nan"))
    finally:
        conn.close()


def send(url: str, name: str, frame: Any, keys: list[str]) -> list[Answer]:
    """Every row of ``frame`` (features only), keyed, one request each."""
    return [predict(url, name, r, k) for r, k in zip(records(frame), keys, strict=True)]


def rank_auc(y: Any, p: Any) -> float:
    """Mann–Whitney AUC; NaN when one class is missing."""
    from sklearn.metrics import roc_auc_score

    if len(set(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, p))


def arm_figures(answers: list[Answer], labels: dict[str, int]) -> dict[str, dict[str, float]]:
    """Per role (the service's ``X-Model-Role``): requests, error rate, live AUC.

    A request that got no answer at all has no role; it counts against the champion,
    the side that has to keep serving.
    """
    figures = {}
    for role in (CHAMPION, CHALLENGER):
        mine = [a for a in answers if a.role == role or (role == CHAMPION and not a.role)]
        ok = [a for a in mine if a.status == 200]
        figures[role] = {
            "n": float(len(mine)),
            "error_rate": (len(mine) - len(ok)) / len(mine) if mine else float("nan"),
            "auc": rank_auc([labels[a.key] for a in ok], [a.probability for a in ok]),
        }
    return figures


def challenger_worse(
    arms: dict[str, dict[str, float]], auc_margin: float, error_margin: float
) -> tuple[bool, str]:
    """The rollback rule of the module docstring, and a sentence saying why."""
    champ, chall = arms[CHAMPION], arms[CHALLENGER]
    if chall["n"] == 0:
        return False, "no request reached the challenger"
    auc_bad = not chall["auc"] >= champ["auc"] - auc_margin  # NaN counts as worse
    err_bad = chall["error_rate"] > champ["error_rate"] + error_margin
    why = (
        f"live AUC challenger {chall['auc']:.3f} vs champion {champ['auc']:.3f} "
        f"(margin {auc_margin:g}), errors {chall['error_rate']:.1%} vs {champ['error_rate']:.1%}"
    )
    return auc_bad or err_bad, why


def wait_for_version(
    url: str, name: str, rows: list[dict[str, Any]], keys: list[str], version: str, timeout_s: float
) -> tuple[bool, int]:
    """Poll until one full pass over ``keys`` is answered by ``version``; (done, passes)."""
    deadline = time.perf_counter() + timeout_s
    passes = 0
    while time.perf_counter() < deadline:
        passes += 1
        answers = [predict(url, name, r, k) for r, k in zip(rows, keys, strict=True)]
        if all(a.status == 200 and a.version == version for a in answers):
            return True, passes
        time.sleep(0.01)
    return False, passes
