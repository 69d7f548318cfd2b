"""The MLflow store under concurrent first use: several runs started together on a fresh home."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

# each process waits for the same instant, then opens the store (creating it if needed)
OPEN_STORE = """
import sys, time
from ai_roadmap.settings import get_settings
from ai_roadmap.tracking import client
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
_, experiment_id = client(get_settings())
print(experiment_id)
"""


def test_runs_started_together_on_a_fresh_home_share_one_store(tmp_path: Path) -> None:
    env = dict(os.environ, ROADMAP_HOME=str(tmp_path / "home"))
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.time() + 6.0  # after every interpreter has imported MLflow
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_STORE, str(start)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    ids = {out.strip() for out, _ in outputs}
    assert len(ids) == 1
    with sqlite3.connect(tmp_path / "home" / "mlflow.db") as conn:
        names = conn.execute("select name from experiments where name != 'Default'").fetchall()
    assert len(names) == 1
