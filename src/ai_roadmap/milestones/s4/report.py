"""s4.report — reproduce 90 % of a published figure and write the technical report around it.

The seed: 选定的支线在公开数据集上复现 SOTA 90 % 效果，并写技术报告. For the chosen track
(``track``), the headline milestone's latest recorded figure is divided by the published one
in ``report/sota.yaml`` (``sota_fraction``, bar ≥ 0.9); every other milestone of the track is
listed with its figure and, where no published figure exists on the same data, the reason.
The report (abstract, method, setup with hardware and data hashes, results, figures,
limitations with every proxy, references) is written as HTML, printed to PDF by headless
Chromium, and each PDF page is turned into a PNG with ``pdftoppm`` — the run fails its check
if the PDF does not open or has no pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig


@dataclass(frozen=True)
class Config:
    track: str  # nlp | vision | multimodal
    figures: int  # PNGs per milestone in the report
    page_dpi: int  # resolution of the page PNGs


def run(cfg: DictConfig) -> Result:
    """Write the track's report from MLflow and measure ours ÷ published for its headline."""
    from ai_roadmap import machine, tracking
    from ai_roadmap.catalog import load_catalog
    from ai_roadmap.report import techreport
    from ai_roadmap.settings import get_settings

    c = typed(cfg, Config)
    sota = techreport.load_sota()
    if c.track not in sota["tracks"]:
        known = ", ".join(sota["tracks"])
        raise RoadmapError(f"unknown track {c.track!r}: use one of {known} (track=nlp)", 2)
    track = sota["tracks"][c.track]
    settings = get_settings()
    client, _ = tracking.client(settings)
    records = tracking.latest_records(settings)
    if track["primary"] not in records:
        raise RoadmapError(
            f"no recorded run of {track['primary']}, the {c.track} track's headline: "
            f"run `roadmap run {track['primary']} --scale quick` first"
        )
    evidence = techreport.gather(client, records, list(track["items"]), c.figures)
    entries = [e for e in sota["entries"] if e["item"] in track["items"]]
    rows = techreport.sota_rows(evidence, entries)
    out = Path(cfg.output_dir)
    html = out / "report.html"
    html.write_text(
        techreport.report_html(
            track["title"], load_catalog(), evidence, rows, track["primary"], machine.describe()
        ),
        encoding="utf-8",
    )
    pdf = techreport.print_pdf(html, out / "report.pdf")
    pages = techreport.pdf_pages(pdf, out / "pages", c.page_dpi)
    main = next(r for r in rows if r.item_id == track["primary"])
    metrics = {
        "pages": float(len(pages)),
        "pdf_bytes": float(pdf.stat().st_size),
        "milestones_reported": float(len(evidence)),
        "rows_with_published_figure": float(sum(r.published is not None for r in rows)),
        f"ours_{main.metric}": float(main.ours or 0.0),
    }
    notes = [
        f"{main.item_id} {main.metric} {main.ours:.4f} (run {records[main.item_id].run_id[:8]}, "
        f"{records[main.item_id].tags.get('roadmap.scale', '?')} scale) vs published "
        f"{main.published} → sota_fraction "
        + (f"{main.fraction:.3f}" if main.fraction is not None else "not comparable"),
        f"published figure: {str(main.entry.get('source', '')).strip()}",
        f"comparability: {str(main.entry.get('comparable', '')).strip()}",
        f"report: {len(pages)} PDF page(s) printed by headless Chromium and rendered by pdftoppm; "
        f"{len(evidence)} milestone(s) of the {c.track} track had a recorded run",
    ]
    not_measured = None
    if main.fraction is None:
        not_measured = f"{main.item_id} has no published figure on the same data"
    else:
        metrics["sota_fraction"] = main.fraction
        metrics["published_" + main.metric] = float(main.published or 0.0)
    if not pages:
        raise RoadmapError("the printed PDF has no pages: the report could not be rendered")
    return Result(
        metrics=metrics,
        dataset=str(main.entry["dataset"]),
        artifacts={"report.html": html, "report.pdf": pdf, "pages": out / "pages"},
        params={"track": c.track, "headline": main.item_id},
        notes=notes,
        not_measured=not_measured,
    )
