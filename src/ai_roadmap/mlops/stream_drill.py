"""The members of a stream run as child processes, and the kill drill.

A member configured with ``drill_batch = k`` stores its k-th micro-batch, publishes it,
writes its marker file and then waits **before committing** — the worst moment to die.
:meth:`Session.drill` SIGKILLs its process group there (no handler runs, nothing is
flushed) and starts the member again without the drill. The group hands the
uncommitted messages out again after the rebalance; the store's ``INSERT OR IGNORE``
keeps one row per message id (:mod:`ai_roadmap.mlops.stream_scoring`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass
class Session:
    """The running members and what happened to them."""

    scratch: Path
    specs: list[Any]
    processes: list[Any] = field(default_factory=list)
    killed: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        from ai_roadmap.mlops.stream_scoring import start_member

        self.processes = [start_member(s, self.scratch) for s in self.specs]

    def drill(self) -> None:
        """Member 0 paused between store and commit: SIGKILL it, start it again (no drill)."""
        from ai_roadmap.mlops.stream_scoring import start_member

        marker = Path(self.specs[0].drill_marker)
        if self.killed or not self.specs[0].drill_batch or not marker.exists():
            return
        with sqlite3.connect(self.specs[0].store) as db:
            stored = db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
        os.killpg(self.processes[0].pid, signal.SIGKILL)
        self.processes[0].wait(10)
        self.killed = {"at": time.time(), "rows_before": float(stored)}
        self.specs[0] = replace(self.specs[0], drill_batch=0)
        self.processes[0] = start_member(self.specs[0], self.scratch)

    def stop(self) -> None:
        from ai_roadmap.serving.server import stop_server

        Path(self.specs[0].stop_file).touch()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):  # stopped by group below
                process.wait(20)
            stop_server(process)
