"""Wall time and peak memory of every built milestone at the smoke and quick scales.

These figures feed the "what it needs" line of ``roadmap show``. Each run goes
through the real runner in a child process (fresh memory peak), recording into
a throw-away ROADMAP_HOME while reading the datasets already pulled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from ai_roadmap.catalog import load_catalog
from ai_roadmap.settings import Settings

SCALES = ("smoke", "quick")


def run() -> list[dict[str, Any]]:
    rows = []
    data_home = str(Settings().data_root)  # where `roadmap data pull` put them
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, ROADMAP_HOME=home, ROADMAP_DATA_HOME=data_home)
        for item in load_catalog().items:
            if not item.built:
                continue
            for scale in SCALES:
                done = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "ai_roadmap",
                        "run",
                        item.id,
                        "--scale",
                        scale,
                        "--json",
                    ],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if done.returncode != 0:
                    rows.append(
                        {"id": item.id, "scale": scale, "error": done.stderr.strip()[-200:]}
                    )
                    continue
                report = json.loads(done.stdout.strip().splitlines()[-1])
                metric = item.target.metric if item.target else None
                rows.append(
                    {
                        "id": item.id,
                        "scale": scale,
                        "duration_s": report["duration_s"],
                        "peak_rss_mb": report["peak_rss_mb"],
                        "verdict": report["verdict"],
                        "figure": report["metrics"].get(metric) if metric else None,
                    }
                )
    return rows
