"""The learner's record: ``roadmap report`` (HTML scorecard with plots, and its Markdown)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from ai_roadmap.catalog import load_catalog
from ai_roadmap.cli import _settings, app, user_errors
from ai_roadmap.errors import RoadmapError


@app.command()
@user_errors
def report(
    out: Path | None = typer.Option(
        None, "--out", help="Where to write (default: <home>/report/report.html and report.md)."
    ),
    as_markdown: bool = typer.Option(
        False, "--markdown", help="Write only the Markdown (e.g. --out docs/results.md)."
    ),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Include the plots."),
    hours_per_week: float = typer.Option(10.0, "--hours-per-week", min=1, max=100),
    start: str | None = typer.Option(None, "--start", help="Plan start, YYYY-MM-DD."),
) -> None:
    """The record of every milestone and task, from MLflow: an offline HTML page + Markdown."""
    from ai_roadmap.report.scorecard import collect
    from ai_roadmap.report.scorepage import write_html, write_markdown

    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        raise RoadmapError(f"--start {start!r} is not a date; use YYYY-MM-DD", 2) from None
    settings = _settings()
    if out is not None and out.exists() and out.is_dir():
        raise RoadmapError(
            f"--out {out} is a folder; give a file name such as {out}/report.html", 2
        )
    card = collect(
        settings, load_catalog(), plots=figures, hours_per_week=hours_per_week, start=first
    )
    if as_markdown:
        target = out or settings.home_dir / "report" / "report.md"
        typer.echo(f"wrote {write_markdown(card, target, with_figures=figures)}")
        return
    page = out or settings.home_dir / "report" / "report.html"
    typer.echo(f"wrote {write_html(card, page)}")
    typer.echo(f"wrote {write_markdown(card, page.with_suffix('.md'), with_figures=figures)}")
    ran = sum(row.record is not None for row in card.rows if row.item.kind == "milestone")
    typer.echo(f"{ran} milestone(s) with a recorded run, {len(card.rows)} items in all")


@app.command()
@user_errors
def resume(
    lang: str = typer.Option("zh", "--lang", help="zh or en."),
    out: Path | None = typer.Option(None, "--out", help="Write the Markdown here too."),
) -> None:
    """Résumé bullets for the projects you ran, every number from your recorded runs."""
    from ai_roadmap.report.resume import bullets
    from ai_roadmap.tracking import latest_records

    found = bullets(load_catalog(), latest_records(_settings()), lang)
    if not found:
        raise RoadmapError(
            "no project has a recorded run yet: run one first, e.g. "
            "`roadmap run s2.churn --scale quick`",
            exit_code=1,
        )
    text = "\n".join(f"- {bullet.text}" for bullet in found) + "\n"
    typer.echo(text, nl=False)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
        typer.echo(f"wrote {out}", err=True)
