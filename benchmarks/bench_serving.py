"""Throughput and latency of the Titanic prediction service under wrk (the s2.serve scenarios).

The scenarios, durations, connections and thread limits are those of
``conf/s2.serve`` at the quick scale (single and 32-record batch predictions at
1 and 2 Gunicorn workers, plus ``GET /healthz``). The model is the registry's
Titanic ``@champion`` of ``ROADMAP_HOME``; without one, ``s0.titanic`` is trained
at the smoke scale into a throw-away home first (the row's ``model`` says which).
The server runs in this environment (not the pruned serving venv that
``roadmap run s2.serve`` builds).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ai_roadmap.config import compose, typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.export import export_champions
from ai_roadmap.serving.loadtest import LoadTestOptions, run_load_test
from ai_roadmap.settings import Settings, get_settings

COLUMNS = ("scenario", "workers", "batch_size", "connections", "keep_alive", "rps")
COLUMNS += (
    "records_per_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "busiest_worker_share",
    "generator_cores",
)


def _export_titanic(settings: Settings, scratch: Path) -> tuple[Settings, str]:
    """Settings serving the Titanic champion from ``scratch``, and where it came from."""
    served = {"serve_model_dir": scratch / "models", "serve_models": "titanic"}
    try:
        version = export_champions(settings.model_copy(update=served), ["titanic"])["titanic"]
        return settings.model_copy(update=served), f"titanic v{version} ({settings.home_dir})"
    except RoadmapError:
        pass
    home = scratch / "home"
    env = dict(os.environ, ROADMAP_HOME=str(home), ROADMAP_DATA_HOME=str(settings.data_root))
    subprocess.run(
        [sys.executable, "-m", "ai_roadmap", "run", "s0.titanic", "--scale", "smoke"],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    fresh = Settings(home=home, data_home=settings.data_root, **served)
    version = export_champions(fresh, ["titanic"])["titanic"]
    return fresh, f"titanic v{version} (s0.titanic smoke, trained for this benchmark)"


def run() -> list[dict[str, Any]]:
    options = typed(compose("s2.serve", "quick").loadtest, LoadTestOptions, "loadtest.")
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        settings, model = _export_titanic(get_settings(), Path(scratch))
        result = run_load_test(settings, options)
    load = os.getloadavg()[0]
    rows = []
    for r in result.results:
        row = {c: getattr(r, c) for c in COLUMNS}
        row |= {"model": model, "ready_s": result.ready_s[r.workers]}
        row["loadavg_1m_after"] = round(load, 2)
        rows.append(row)
    return rows
