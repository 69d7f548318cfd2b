"""The scorecard as one self-contained HTML page and as its Markdown twin.

The HTML embeds its CSS and every figure (``data:`` URIs), so it opens offline, from a mail
attachment or a CI artefact, and asks the network for nothing. The Markdown has the same
tables; its figures are written as PNG files in a folder beside it (or left out).
Both are written atomically: a temporary file (and folder) renamed into place.
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from html import escape
from pathlib import Path

from ai_roadmap.report.scorecard import Row, Scorecard

CSS = """
body{font:14px/1.45 system-ui,'WenQuanYi Micro Hei',sans-serif;margin:24px;color:#222}
#scorecard{font-size:12px;table-layout:auto}
h1{margin-bottom:4px} .meta{color:#555;margin:0 0 16px}
table{border-collapse:collapse;width:100%;margin:8px 0 20px}
th,td{border:1px solid #ddd;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:12px;background:#f6f6f6;padding:1px 3px}
.pass{color:#107a10;font-weight:600} .fail{color:#b00020;font-weight:600}
.bar{background:#eee;width:160px;height:12px;display:inline-block;vertical-align:middle}
.bar span{background:#3a7bd5;height:12px;display:block}
.proxy{background:#fff3cd;padding:0 4px;border-radius:3px;font-size:12px}
figure{display:inline-block;margin:4px;width:300px;vertical-align:top}
figure img{width:100%;border:1px solid #ccc} figcaption{font-size:12px;color:#555}
"""


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _verdict_class(verdict: str) -> str:
    return {"pass": "pass", "fail": "fail"}.get(verdict, "")


def _row_cells(row: Row) -> list[str]:
    """The cells one item contributes, as plain text (escaped by the HTML writer)."""
    sha = row.tag("git_sha")
    short_sha = sha[:12] + ("-dirty" if sha.endswith("-dirty") else "")
    return [
        row.item.id,
        row.item.title_zh,
        row.item.kind,
        f"{row.metric} = {_figure(row.value)}" if row.value is not None else "",
        row.tag("target") or (row.item.target.describe() if row.item.target else ""),
        row.verdict,
        "proxy" if row.proxy else "",
        row.tag("reason"),
        row.tag("scale"),
        row.record.date if row.record else "",
        row.tag("hardware", "not recorded" if row.record else ""),
        short_sha,
        row.command if (row.record or row.item.kind == "task") else "",
    ]


HEADERS = [
    "id",
    "item",
    "kind",
    "figure",
    "target",
    "verdict",
    "proxy",
    "reason",
    "scale",
    "date (UTC)",
    "hardware",
    "git",
    "command",
]


def html_page(card: Scorecard) -> str:
    """The report as one HTML document with inline CSS and embedded PNGs."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>ai-roadmap report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>ai-roadmap — the learner's record</h1>",
        f"<p class='meta'>Generated {escape(card.generated)} from the MLflow store of "
        f"<code>{escape(card.home)}</code> on {escape(card.machine)}. Every figure is the "
        "latest finished run's; each row gives the command that reproduces it.</p>",
        "<h2>Progress by stage</h2>",
        _stage_table(card),
        "<h2>Every item</h2>",
        _item_table(card),
        _plot_sections(card),
        "<h2>Learning tasks ticked</h2>",
        _task_list(card),
        f"<h2>Plan at {card.hours_per_week:g} hours a week</h2>",
        _plan_table(card),
        "</body></html>",
    ]
    return "\n".join(parts)


def _stage_table(card: Scorecard) -> str:
    rows = []
    for p in card.stages:
        percent = round(100 * p.fraction)
        rows.append(
            f"<tr data-stage='{p.stage.number}'><td>{p.stage.number}</td>"
            f"<td>{escape(p.stage.title_zh)} / {escape(p.stage.title_en)}</td>"
            f"<td class='num'>{p.built}/{p.milestones}</td><td class='num'>{p.run}</td>"
            f"<td class='num'>{p.passed}</td><td class='num'>{p.tasks_done}/{p.tasks}</td>"
            f"<td><span class='bar'><span style='width:{percent}%'></span></span> "
            f"{percent}%</td></tr>"
        )
    head = (
        "<tr><th>stage</th><th>title</th><th>milestones built</th><th>run</th>"
        "<th>passed</th><th>tasks done</th><th>progress (passed + done)</th></tr>"
    )
    return f"<table id='stages'>{head}{''.join(rows)}</table>"


def _item_table(card: Scorecard) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = []
    for row in card.rows:
        cells = _row_cells(row)
        html_cells = []
        for header, text in zip(HEADERS, cells, strict=True):
            if header == "verdict":
                html_cells.append(f"<td class='{_verdict_class(text)}'>{escape(text)}</td>")
            elif header == "proxy" and text:
                html_cells.append("<td><span class='proxy'>proxy</span></td>")
            elif header == "command" and text:
                html_cells.append(f"<td><code>{escape(text)}</code></td>")
            else:
                html_cells.append(f"<td>{escape(text)}</td>")
        body.append(f"<tr data-id='{escape(row.item.id)}'>{''.join(html_cells)}</tr>")
    return f"<table id='scorecard'><tr>{head}</tr>{''.join(body)}</table>"


def _plot_sections(card: Scorecard) -> str:
    sections = []
    for row in card.rows:
        if not row.plots:
            continue
        figures = "".join(
            f"<figure><img alt='{escape(plot.name)}' src='data:image/png;base64,"
            f"{base64.b64encode(plot.data).decode('ascii')}'>"
            f"<figcaption>{escape(plot.name)}</figcaption></figure>"
            for plot in row.plots
        )
        sections.append(
            f"<section id='plots-{escape(row.item.id)}'><h3>{escape(row.item.id)}"
            f"</h3>{figures}</section>"
        )
    if not sections:
        return "<h2>Figures</h2><p>No run has logged a figure yet.</p>"
    return "<h2>Figures</h2>" + "".join(sections)


def _task_list(card: Scorecard) -> str:
    done = [row for row in card.rows if row.item.kind == "task" and row.verdict == "done"]
    if not done:
        return "<p>None yet: <code>roadmap done ID</code> ticks a task.</p>"
    items = "".join(
        f"<li><b>{escape(r.item.id)}</b> {escape(r.item.title_zh)} — {escape(r.record.date)}</li>"
        for r in done
        if r.record
    )
    return f"<ul id='tasks'>{items}</ul>"


def _plan_table(card: Scorecard) -> str:
    rows = "".join(
        f"<tr><td>{p.stage.number} {escape(p.stage.title_en)}</td><td>{escape(p.stage.duration)}"
        f"</td><td class='num'>{p.hours:.0f}</td><td class='num'>{p.weeks:.1f}</td>"
        f"<td>{p.end.isoformat()}</td></tr>"
        for p in card.plan
    )
    head = "<tr><th>stage</th><th>seed duration</th><th>hours</th><th>weeks</th><th>ends</th></tr>"
    return f"<table id='plan'>{head}{rows}</table>"


def _md_cell(text: str) -> str:
    return re.sub(r"\s+", " ", text).replace("|", "\\|")


def markdown(card: Scorecard, figures: dict[str, list[str]] | None = None) -> str:
    """The Markdown twin; ``figures`` maps an item id to the relative paths of its PNGs."""
    lines = [
        "# ai-roadmap — the learner's record",
        "",
        f"Generated {card.generated} by `roadmap report --markdown` from the MLflow store "
        f"on {card.machine}. Every figure is the latest finished run's; each row gives the "
        "command that reproduces it.",
        "",
        "## Progress by stage",
        "",
        "| stage | milestones built | run | passed | tasks done | progress |",
        "|---|---|---|---|---|---|",
    ]
    for p in card.stages:
        lines.append(
            f"| {p.stage.number} {_md_cell(p.stage.title_en)} | {p.built}/{p.milestones} | "
            f"{p.run} | {p.passed} | {p.tasks_done}/{p.tasks} | {round(100 * p.fraction)} % |"
        )
    lines += ["", "## Every item", "", "| " + " | ".join(HEADERS) + " |"]
    lines.append("|" + "---|" * len(HEADERS))
    for row in card.rows:
        cells = [_md_cell(text) for text in _row_cells(row)]
        cells[-1] = f"`{cells[-1]}`" if cells[-1] else ""
        lines.append("| " + " | ".join(cells) + " |")
    for item_id, paths in (figures or {}).items():
        lines += ["", f"### Figures of {item_id}", ""]
        lines += [f"![{Path(p).stem}]({p})" for p in paths]
    lines += ["", f"## Plan at {card.hours_per_week:g} hours a week", ""]
    lines += ["| stage | seed duration | hours | weeks | ends |", "|---|---|---|---|---|"]
    for step in card.plan:
        lines.append(
            f"| {step.stage.number} {_md_cell(step.stage.title_en)} | "
            f"{_md_cell(step.stage.duration)} | {step.hours:.0f} | {step.weeks:.1f} | "
            f"{step.end.isoformat()} |"
        )
    return "\n".join(lines) + "\n"


def write_html(card: Scorecard, out: Path) -> Path:
    """Write the HTML page atomically to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html_page(card), encoding="utf-8")
    tmp.replace(out)
    return out


def write_markdown(card: Scorecard, out: Path, with_figures: bool = True) -> Path:
    """Write the Markdown to ``out`` and its PNGs to ``<stem>_files/`` beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = out.with_name(out.stem + "_files")
    figures: dict[str, list[str]] = {}
    staging = Path(tempfile.mkdtemp(prefix=".report-", dir=out.parent))
    try:
        if with_figures:
            for row in card.rows:
                for index, plot in enumerate(row.plots):
                    name = f"{row.item.id}-{index}-{Path(plot.name).name}"
                    (staging / name).write_bytes(plot.data)
                    figures.setdefault(row.item.id, []).append(f"{folder.name}/{name}")
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(markdown(card, figures), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        if figures:
            staging.rename(folder)
        tmp.replace(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
