"""A technical report of one stage-4 track, written from its recorded runs, printed to PDF.

:func:`gather` reads, for each milestone of the track, the latest finished run (metrics,
tags, the ``result.json`` the runner logged with its notes, the PNG figures) and the published
figure of ``sota.yaml``; :func:`sota_rows` turns them into ``ours ÷ published`` where a
published figure exists (inverted for metrics where lower is better). :func:`report_html`
lays out an arXiv-style report — abstract, method, setup (hardware and data provenance),
results, figures, limitations with every proxy, references — and :func:`print_pdf` has
headless Chromium print it (no network: the page embeds everything).
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ai_roadmap.catalog import Catalog
from ai_roadmap.errors import RoadmapError
from ai_roadmap.report.scorecard import Plot, run_plots
from ai_roadmap.tracking import Record


def load_sota() -> dict[str, Any]:
    """The tracks and published figures of ``sota.yaml``."""
    text = resources.files("ai_roadmap.report").joinpath("sota.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


@dataclass
class Evidence:
    """One milestone's latest run, as the report uses it."""

    item_id: str
    record: Record
    notes: list[str] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)


@dataclass(frozen=True)
class SotaRow:
    item_id: str
    metric: str
    ours: float | None
    published: float | None
    fraction: float | None
    entry: dict[str, Any]


def gather(client: Any, records: dict[str, Record], items: list[str], plots: int) -> list[Evidence]:
    """The latest run of each item that has one, with its notes and up to ``plots`` PNGs."""
    found = []
    for item_id in items:
        record = records.get(item_id)
        if record is None or record.kind != "milestone":
            continue
        notes: list[str] = []
        with tempfile.TemporaryDirectory(prefix="roadmap-techreport-") as tmp:
            try:
                local = Path(client.download_artifacts(record.run_id, "result.json", tmp))
                notes = list(json.loads(local.read_text(encoding="utf-8")).get("notes", []))
            except Exception:  # an older run without result.json: the report says so
                notes = ["(this run logged no result.json: its notes are not available)"]
        found.append(Evidence(item_id, record, notes, run_plots(client, record.run_id, plots)))
    return found


def sota_rows(evidence: list[Evidence], entries: list[dict[str, Any]]) -> list[SotaRow]:
    """ours ÷ published per entry (published ÷ ours where lower is better)."""
    by_id = {e.item_id: e for e in evidence}
    rows = []
    for entry in entries:
        run = by_id.get(entry["item"])
        ours = run.record.metrics.get(entry["metric"]) if run else None
        published = entry.get("published")
        fraction = None
        if ours is not None and published is not None and ours > 0:
            fraction = ours / published if entry["higher_is_better"] else published / ours
        rows.append(SotaRow(entry["item"], entry["metric"], ours, published, fraction, entry))
    return rows


CSS = """
@page{size:A4;margin:18mm 16mm}
body{font:10.5pt/1.45 'DejaVu Serif','WenQuanYi Micro Hei',serif;color:#111}
h1{font-size:17pt;text-align:center;margin:0 0 4px} .sub{text-align:center;color:#444}
h2{font-size:12.5pt;margin:16px 0 6px} table{border-collapse:collapse;width:100%;font-size:9pt}
th,td{border-top:1px solid #999;border-bottom:1px solid #999;padding:3px 5px;text-align:left}
.abstract{margin:12px 36px;font-size:9.5pt} figure{margin:6px 0;break-inside:avoid}
figure img{max-width:100%;max-height:85mm} figcaption{font-size:8.5pt;color:#333}
li{margin:2px 0}
"""


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"


def report_html(
    title: str,
    catalog: Catalog,
    evidence: list[Evidence],
    rows: list[SotaRow],
    primary: str,
    machine_now: str,
) -> str:
    """The report as one self-contained HTML document (A4 print styles)."""
    main = next((r for r in rows if r.item_id == primary), None)
    if main is None or main.ours is None:
        raise RoadmapError(f"no recorded run of {primary}: run `roadmap run {primary}` first", 1)
    items = {item.id: item for item in catalog.items}
    fraction_text = (
        f"{main.fraction:.3f} of the published figure"
        if main.fraction is not None
        else "not comparable: no published figure"
    )
    abstract = (
        f"We reproduce the {title} milestones of the ai-roadmap on public and locally generated "
        f"data, on a {escape(machine_now)}. Our headline result is {escape(primary)} "
        f"{escape(main.metric)} = {main.ours:.4f} ({fraction_text}). Every number below is "
        "read from the recorded runs; proxies and every comparison caveat are listed under "
        "Limitations."
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{CSS}</style></head><body><h1>{escape(title)}: a reproduction report</h1>",
        "<p class='sub'>generated by <code>roadmap run s4.report</code> from MLflow</p>",
        f"<p class='abstract'><b>Abstract.</b> {abstract}</p>",
        "<h2>1 Method</h2><ul>",
    ]
    for e in evidence:
        item = items.get(e.item_id)
        summary = item.summary if item else ""
        parts.append(f"<li><b>{escape(e.item_id)}</b> — {escape(summary)}</li>")
    parts.append(
        "</ul><h2>2 Setup</h2><table><tr><th>run</th><th>scale</th><th>hardware</th>"
        "<th>data</th><th>data provenance (sha256)</th><th>git</th></tr>"
    )
    for e in evidence:
        tags = e.record.tags
        hashes = "; ".join(
            f"{k.removeprefix('roadmap.data.')}: {v[:12]}"
            for k, v in sorted(tags.items())
            if k.startswith("roadmap.data.")
        )
        parts.append(
            f"<tr><td>{escape(e.item_id)} <code>{e.record.run_id[:8]}</code></td>"
            f"<td>{escape(tags.get('roadmap.scale', ''))}</td>"
            f"<td>{escape(tags.get('roadmap.hardware', 'not recorded'))}</td>"
            f"<td>{escape(tags.get('roadmap.dataset', ''))}</td><td>{escape(hashes or '—')}</td>"
            f"<td>{escape(tags.get('roadmap.git_sha', '')[:12])}</td></tr>"
        )
    parts.append(
        "</table><h2>3 Results</h2><table><tr><th>milestone</th><th>metric</th>"
        "<th>ours</th><th>published</th><th>ours ÷ published</th><th>verdict</th></tr>"
    )
    verdicts = {e.item_id: e.record.tags.get("roadmap.verdict", "") for e in evidence}
    for r in rows:
        parts.append(
            f"<tr><td>{escape(r.item_id)}</td><td>{escape(r.metric)}</td><td>{_num(r.ours)}</td>"
            f"<td>{_num(r.published)}</td><td>{_num(r.fraction)}</td>"
            f"<td>{escape(verdicts.get(r.item_id, 'not run'))}</td></tr>"
        )
    parts.append("</table>")
    parts.extend(_figures(evidence))
    parts.append("<h2>5 Limitations</h2><ul>")
    for e in evidence:
        if e.record.tags.get("roadmap.proxy") == "true":
            parts.append(
                f"<li>{escape(e.item_id)} is a proxy: "
                f"{escape(e.record.tags.get('roadmap.dataset', ''))}.</li>"
            )
    for r in rows:
        why = r.entry.get("comparable") or r.entry.get("reason")
        if why:
            parts.append(f"<li>{escape(r.item_id)}: {escape(str(why))}</li>")
    for e in evidence:
        for note in e.notes:
            if any(word in note.lower() for word in ("proxy", "short", "not measured", "cannot")):
                parts.append(f"<li>{escape(e.item_id)}: {escape(note)}</li>")
    parts.append("</ul><h2>References</h2><ol>")
    for r in rows:
        if r.entry.get("source"):
            parts.append(f"<li>{escape(str(r.entry['source']))}</li>")
    parts.append(
        "<li>ai-roadmap: the milestones' code and configurations at the git commits "
        "listed under Setup.</li></ol></body></html>"
    )
    return "\n".join(parts)


def _figures(evidence: list[Evidence]) -> list[str]:
    out = ["<h2>4 Figures</h2>"]
    number = 0
    for e in evidence:
        for plot in e.plots:
            number += 1
            data = base64.b64encode(plot.data).decode("ascii")
            out.append(
                f"<figure><img src='data:image/png;base64,{data}'><figcaption>Figure {number}: "
                f"{escape(e.item_id)} — {escape(plot.name)}</figcaption></figure>"
            )
    if number == 0:
        out.append("<p>The runs logged no figures.</p>")
    return out


def print_pdf(page: Path, pdf: Path, timeout_s: float = 120) -> Path:
    """Headless Chromium's print-to-PDF of a local page (its own process group, no network)."""
    from ai_roadmap.mlops.dashboard import headless

    tmp = pdf.with_name(pdf.name + ".tmp.pdf")
    code, err = headless(page, ["--no-pdf-header-footer", f"--print-to-pdf={tmp}"], timeout_s)
    if code != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise RoadmapError(f"chromium could not print the report ({code}): {err[-300:]}")
    tmp.replace(pdf)
    return pdf


def pdf_pages(pdf: Path, out_dir: Path, dpi: int = 60) -> list[Path]:
    """Each page of ``pdf`` as a PNG (``pdftoppm``): proof that the PDF opens and has pages."""
    import shutil

    if shutil.which("pdftoppm") is None:
        raise RoadmapError("pdftoppm is not installed: run `apt-get install -y poppler-utils`")
    out_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RoadmapError(f"pdftoppm could not read {pdf.name}: {done.stderr.strip()[-300:]}")
    return sorted(out_dir.glob("page*.png"))
