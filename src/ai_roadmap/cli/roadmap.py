"""The roadmap and where you stand: list, show, run, status, task ticks and the plan."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import typer
from rich.table import Table

from ai_roadmap.catalog import Item, load_catalog
from ai_roadmap.cli import _err, _out, _records, _settings, app, user_errors
from ai_roadmap.errors import RoadmapError


def _target_text(item: Item) -> str:
    return item.target.describe() if item.target else "—"


def _last(item: Item, records: dict[str, Any]) -> str:
    record = records.get(item.id)
    if item.kind == "task":
        return "done" if record is not None and record.done else "not done"
    if record is None:
        return "—"
    proxy = " (proxy)" if record.tags.get("roadmap.proxy") == "true" else ""
    return f"{record.verdict}{proxy}"


# ── list / show ──────────────────────────────────────────────────────────────


@app.command("list")
@user_errors
def list_items(
    stage: int | None = typer.Option(None, "--stage", "-s", help="Only this stage (0-6)."),
) -> None:
    """The roadmap as a table: id, title, target, built or not, last verdict."""
    catalog = load_catalog()
    if stage is not None:
        catalog.stage(stage)
    records = _records()
    table = Table(title="AI algorithm engineer roadmap 人工智能算法工程师路线图")
    out = _out()
    widths = {"id": 14, "target": 18, "built": 5, "last": 12}
    title_width = max(16, out.width - sum(widths.values()) - 16)  # 16: borders and padding
    table.add_column("id", no_wrap=True, width=widths["id"])
    table.add_column("title", overflow="ellipsis", no_wrap=True, width=title_width)
    for column in ("target", "built", "last"):
        table.add_column(column, overflow="fold", width=widths[column])
    current = None
    for item in catalog.items:
        if stage is not None and item.stage != stage:
            continue
        if item.stage != current:
            current = item.stage
            header = catalog.stage(current)
            table.add_section()
            table.add_row(f"[bold]stage {current}[/bold]", f"[bold]{header.title_zh}[/bold]")
        built = "task" if item.kind == "task" else ("yes" if item.built else "no")
        table.add_row(item.id, item.title_en, _target_text(item), built, _last(item, records))
    out.print(table)
    typer.echo("details: roadmap show ID · run: roadmap run ID · where you stand: roadmap status")


@app.command()
@user_errors
def show(item_id: str = typer.Argument(..., metavar="ID", help="e.g. s0.titanic")) -> None:
    """Everything about one item: theory, resources, target, data, how to run, what it needs."""
    catalog = load_catalog()
    item = catalog.get(item_id)
    stage = catalog.stage(item.stage)
    out = _out()
    out.print(f"[bold]{item.id}[/bold]  {item.title_en}\n{item.title_zh}")
    out.print(f"stage {stage.number}: {stage.title_en} / {stage.title_zh} ({stage.duration})")
    out.print(f"kind: {item.kind}   built: {'yes' if item.built else 'not built yet'}")
    if item.summary:
        out.print(f"\n{item.summary}")
    if item.target:
        t = item.target
        bars = ", ".join(f"{k}: {v:g}" for k, v in t.bars.items())
        out.print(
            f"\ntarget: {t.describe()} on {t.dataset}" + (f"  (our bars: {bars})" if bars else "")
        )
        if t.seed:
            out.print(f"roadmap says: {t.seed}")
    for title, lines in (
        ("theory", item.theory),
        ("resources", item.resources),
        ("plan", item.plan),
    ):
        if lines:
            out.print(f"\n{title}:")
            for line in lines:
                out.print(f"  • {line}")
    if item.datasets:
        from ai_roadmap.datasets import DATASETS

        pulls = " ".join(d for d in item.datasets if d in DATASETS)
        how = f"  (get them: roadmap data pull {pulls})" if pulls else ""
        out.print(f"\ndatasets: {', '.join(item.datasets)}{how}")
    if item.target is not None and item.target.dataset == "cifar10":
        out.print("CIFAR-10: put the official files in $ROADMAP_DATA_DIR/cifar10/ (see README)")
    out.print(f"\nneeds: {item.hardware}")
    if item.extra and item.built:
        out.print(f"  installs: pip install 'ai-roadmap[{item.extra}]'", markup=False)
    for scale, timing in item.timings.items():
        out.print(f"  {scale}: {timing}")
    record = _records().get(item.id)
    if record is not None and item.kind == "milestone":
        took = record.metrics.get("duration_s")
        took_text = f", took {took:.0f} s" if took is not None else ""
        out.print(
            f"your last run: {record.tags.get('roadmap.scale', '?')} on {record.date}{took_text}"
            f" — {record.verdict}"
        )
    if item.kind == "milestone" and item.built:
        out.print(f"\nrun: roadmap run {item.id} --scale quick   (smoke | quick | full)")
    elif item.kind == "task":
        out.print(f"\ntick off: roadmap done {item.id}")


# ── run / status ─────────────────────────────────────────────────────────────


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@user_errors
def run(
    item_id: str = typer.Argument(..., metavar="ID", help="A milestone id, e.g. s0.titanic"),
    overrides: list[str] | None = typer.Argument(
        None, metavar="[OVERRIDES]...", help="Hydra overrides, e.g. cv.folds=10"
    ),
    scale: str = typer.Option("quick", "--scale", help="smoke (seconds) | quick | full"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Run a milestone, print its figures beside the roadmap's target and a verdict."""
    from ai_roadmap.runner import run_milestone, runnable

    runnable(item_id)
    if not as_json:
        _err().print(f"running {item_id} at scale {scale} …")
    report = run_milestone(item_id, scale, list(overrides or []))
    if as_json:
        typer.echo(report.to_json())
        return
    out = _out()
    table = Table(title=f"{report.id} ({report.scale})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.metrics.items():
        table.add_row(key, f"{value:.6g}")
    table.add_row("duration_s", f"{report.duration_s:.1f}")
    table.add_row("peak_rss_mb", f"{report.peak_rss_mb:.0f}")
    out.print(table)
    target = load_catalog().get(item_id).target
    if target is not None:
        where = "" if target.dataset == "none" else f" on {target.dataset}"
        out.print(f"target: {target.describe(report.scale)}{where}  (roadmap: {target.seed})")
    out.print(f"dataset: {report.dataset}{'  [PROXY]' if report.proxy else ''}")
    out.print(f"verdict: [bold]{report.verdict}[/bold] — {report.reason}")
    for note in report.notes:
        out.print(f"note: {note}", markup=False)  # notes quote overrides: [a, b]
    out.print(f"mlflow run: {report.mlflow_run_id}")


def scorecard_rows(records: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per catalog item: latest figure vs target, verdict, dataset, date."""
    rows = []
    for item in load_catalog().items:
        record = records.get(item.id)
        row: dict[str, Any] = {"id": item.id, "kind": item.kind, "built": item.built}
        if item.kind == "task":
            row["done"] = bool(record is not None and record.done)
            row["date"] = record.date if record else None
        else:
            metric = item.target.metric if item.target else None
            value = record.metrics.get(metric) if (record and metric) else None
            row.update(
                target=item.target.describe() if item.target else None,
                metric=metric,
                value=value,
                verdict=record.verdict if record else ("not run" if item.built else "not built"),
                reason=record.tags.get("roadmap.reason") if record else None,
                scale=record.tags.get("roadmap.scale") if record else None,
                dataset=record.tags.get("roadmap.dataset") if record else None,
                proxy=(record.tags.get("roadmap.proxy") == "true") if record else None,
                date=record.date if record else None,
                run_id=record.run_id if record else None,
            )
        rows.append(row)
    return rows


@app.command()
@user_errors
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the scorecard as JSON."),
) -> None:
    """The scorecard: every item's latest measured figure vs target, from MLflow."""
    rows = scorecard_rows(_records())
    if as_json:
        typer.echo(json.dumps({"items": rows}, ensure_ascii=False))
        return
    from rich import box

    table = Table(title="Scorecard", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("figure", justify="right", no_wrap=True, min_width=9)
    table.add_column("target", no_wrap=True, min_width=9)
    table.add_column("verdict", no_wrap=True, min_width=12)
    table.add_column("data", overflow="ellipsis", no_wrap=True, max_width=8)
    table.add_column("scale", no_wrap=True)
    table.add_column("date", no_wrap=True, min_width=5)
    for row in rows:
        date_text = (row["date"] or "")[5:10]  # MM-DD
        if row["kind"] == "task":
            done_text = "done" if row["done"] else "not done"
            table.add_row(row["id"], "", "(task)", done_text, "", "", date_text)
            continue
        value = "" if row["value"] is None else f"{row['value']:.4g}"
        data = (row["dataset"] or "").split(" (")[0]
        if row["proxy"]:
            data = f"PROXY {data}"
        target = " ".join((row["target"] or "").split()[1:])  # "metric >= 0.79" -> ">= 0.79"
        table.add_row(row["id"], value, target, row["verdict"], data, row["scale"] or "", date_text)
    _out().print(table)
    typer.echo("figures are each milestone's target metric; `roadmap status --json` has the names")


# ── tasks and plan ───────────────────────────────────────────────────────────


def _tick(item_id: str, done: bool) -> None:
    item = load_catalog().get(item_id)
    if item.kind != "task":
        raise RoadmapError(
            f"{item_id} is a milestone: it is marked by running it (`roadmap run {item_id}`)",
            exit_code=2,
        )
    from ai_roadmap.tracking import set_task_done

    set_task_done(_settings(), item_id, done)
    typer.echo(f"{item_id}: {'done' if done else 'not done'}")


@app.command()
@user_errors
def done(item_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Tick off a learning task."""
    _tick(item_id, True)


@app.command()
@user_errors
def undone(item_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Untick a learning task."""
    _tick(item_id, False)


@app.command()
@user_errors
def plan(
    hours_per_week: float = typer.Option(10.0, "--hours-per-week", min=1, max=100),
    start: str | None = typer.Option(None, "--start", help="YYYY-MM-DD (default: today)"),
) -> None:
    """The timeline: the seed's stage durations scaled to your hours per week."""
    from ai_roadmap.plan import schedule

    try:
        first = date.fromisoformat(start) if start else date.today()
    except ValueError:
        raise RoadmapError(f"--start {start!r} is not a date; use YYYY-MM-DD", 2) from None
    catalog = load_catalog()
    table = Table(title=f"Plan at {hours_per_week:g} h/week from {first.isoformat()}")
    for column in ("stage", "seed duration", "hours", "weeks", "ends"):
        table.add_column(column)
    rows = schedule(catalog, hours_per_week, first)
    for row in rows:
        table.add_row(
            f"{row.stage.number} {row.stage.title_en}",
            row.stage.duration,
            f"{row.hours:.0f}",
            f"{row.weeks:.1f}",
            row.end.isoformat(),
        )
    out = _out()
    out.print(table)
    out.print(f"seed: {catalog.part_time}; {catalog.full_time}")
