"""The learner's record, gathered from MLflow alone: one row per catalog item, plots, progress.

:func:`collect` reads the latest finished run of every roadmap id (the same records as
``roadmap status``), the PNG figures each milestone run logged, the ticked learning tasks and
the ``roadmap plan`` timeline. Nothing is typed in: change a recorded metric and the next
report shows the new figure. :mod:`ai_roadmap.report.scorepage` renders the result as a
self-contained HTML page and as Markdown.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ai_roadmap import machine
from ai_roadmap.catalog import Catalog, Item, Stage
from ai_roadmap.plan import PlanRow, schedule
from ai_roadmap.settings import Settings
from ai_roadmap.tracking import Record, latest_records

MAX_PLOTS = 6  # figures embedded per milestone
MAX_PLOT_BYTES = 3_000_000  # larger PNGs are listed, not embedded
SKIP_DIRS = ("model", "models", "checkpoints")  # artefact folders that hold no figures


@dataclass
class Plot:
    """A PNG a run logged: its artefact path and its bytes."""

    name: str
    data: bytes


@dataclass
class Row:
    """One catalog item and what MLflow knows about it."""

    item: Item
    record: Record | None
    plots: list[Plot] = field(default_factory=list)

    @property
    def metric(self) -> str | None:
        return self.item.target.metric if self.item.target else None

    @property
    def value(self) -> float | None:
        if self.record is None or self.metric is None:
            return None
        return self.record.metrics.get(self.metric)

    @property
    def verdict(self) -> str:
        if self.item.kind == "task":
            return "done" if (self.record and self.record.done) else "not done"
        if self.record is None:
            return "not run" if self.item.built else "not built"
        return self.record.tags.get("roadmap.verdict", "unknown")

    def tag(self, name: str, missing: str = "") -> str:
        """A ``roadmap.<name>`` tag of the run ("" or ``missing`` when absent)."""
        if self.record is None:
            return missing
        return self.record.tags.get("roadmap." + name, missing)

    @property
    def proxy(self) -> bool:
        return self.tag("proxy") == "true"

    @property
    def command(self) -> str:
        if self.item.kind == "task":
            return f"roadmap done {self.item.id}"
        recorded = self.tag("command")
        return recorded or f"roadmap run {self.item.id} --scale {self.tag('scale', 'quick')}"


@dataclass
class StageProgress:
    """Counts for one stage's progress bar."""

    stage: Stage
    milestones: int
    built: int
    run: int
    passed: int
    tasks: int
    tasks_done: int

    @property
    def fraction(self) -> float:
        """Share of the stage's items that are passed milestones or ticked tasks."""
        total = self.milestones + self.tasks
        return (self.passed + self.tasks_done) / total if total else 0.0


@dataclass
class Scorecard:
    """Everything the report shows."""

    generated: str
    machine: str
    home: str
    rows: list[Row]
    stages: list[StageProgress]
    plan: list[PlanRow]
    hours_per_week: float


def collect(
    settings: Settings,
    catalog: Catalog,
    *,
    plots: bool = True,
    hours_per_week: float = 10.0,
    start: date | None = None,
) -> Scorecard:
    """Read MLflow (read only) into a :class:`Scorecard` for ``catalog``."""
    records = latest_records(settings)
    rows = [Row(item, records.get(item.id)) for item in catalog.items]
    if plots and any(row.record and row.item.kind == "milestone" for row in rows):
        from ai_roadmap.tracking import client

        mlflow_client, _ = client(settings)
        for row in rows:
            if row.record is not None and row.item.kind == "milestone":
                row.plots = run_plots(mlflow_client, row.record.run_id)
    return Scorecard(
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine.describe(),
        home=str(settings.home_dir),
        rows=rows,
        stages=[_progress(stage, rows) for stage in catalog.stages],
        plan=schedule(catalog, hours_per_week, start or date.today()),
        hours_per_week=hours_per_week,
    )


def _progress(stage: Stage, rows: list[Row]) -> StageProgress:
    mine = [row for row in rows if row.item.stage == stage.number]
    milestones = [row for row in mine if row.item.kind == "milestone"]
    tasks = [row for row in mine if row.item.kind == "task"]
    return StageProgress(
        stage=stage,
        milestones=len(milestones),
        built=sum(row.item.built for row in milestones),
        run=sum(row.record is not None for row in milestones),
        passed=sum(row.verdict == "pass" for row in milestones),
        tasks=len(tasks),
        tasks_done=sum(row.verdict == "done" for row in tasks),
    )


def _small(size: int | None) -> bool:
    return size is None or size <= MAX_PLOT_BYTES


def run_plots(mlflow_client: Any, run_id: str, limit: int = MAX_PLOTS) -> list[Plot]:
    """The first ``limit`` PNG artefacts of a run (breadth first, model folders skipped)."""
    found: list[str] = []
    queue = [""]
    while queue and len(found) < limit:
        folder = queue.pop(0)
        for info in mlflow_client.list_artifacts(run_id, folder or None):
            name = info.path.rsplit("/", 1)[-1]
            if info.is_dir and name not in SKIP_DIRS and info.path.count("/") < 2:
                queue.append(info.path)
            elif not info.is_dir and name.lower().endswith(".png") and _small(info.file_size):
                found.append(info.path)
    plots = []
    with tempfile.TemporaryDirectory(prefix="roadmap-report-") as tmp:
        for path in sorted(found)[:limit]:
            local = Path(mlflow_client.download_artifacts(run_id, path, tmp))
            plots.append(Plot(path, local.read_bytes()))
    return plots
