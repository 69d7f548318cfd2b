"""s1.writeup — one blog page per stage-1 experiment: the derivation beside its code.

For each id in ``experiments`` it renders ``templates/<id>.md`` with the library code
that :data:`ai_roadmap.report.writeup.SOURCES` maps to each section and the figures and
numbers of that experiment's latest finished run (``roadmap run s1.pca`` and
``roadmap run s1.logreg`` first), then an index page. It measures how many pages were
rendered and how many show a run's figures; a page whose mapped code no longer exists
is reported as not rendered, the others are still written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ai_roadmap.config import typed
from ai_roadmap.report.render import SourceNotFound
from ai_roadmap.report.writeup import MISSING_RUN, index_html, render_page
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig


@dataclass(frozen=True)
class Config:
    experiments: tuple[str, ...]  # one page each, from report/templates/<id>.md
    code_style: str  # Pygments style of the code column


def run(cfg: DictConfig) -> Result:
    """Render one page per experiment from its derivation, its code and its latest run."""
    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    c = typed(cfg, Config)
    out = Path(cfg.output_dir) / "writeup"
    out.mkdir(parents=True, exist_ok=True)
    settings = get_settings()
    style = c.code_style
    records = tracking.latest_records(settings)
    rendered, with_figures, failures = 0, 0, []
    pages, notes, params = [], [], {}
    for item_id in c.experiments:
        record = records.get(item_id)
        try:
            title, evidence = render_page(item_id, record, settings, out, style)
        except SourceNotFound as exc:
            failures.append(f"{item_id}: {exc}")
            pages.append((item_id, item_id, f"not rendered: {exc}"))
            continue
        rendered += 1
        if evidence is None:
            notes.append(f"{item_id}: " + MISSING_RUN.format(item_id=item_id))
            pages.append((item_id, title, "no recorded run yet"))
            continue
        with_figures += bool(evidence.figures)
        params[f"{item_id}.run_id"] = evidence.run_id
        status = (
            f"latest run {evidence.date} UTC · verdict {evidence.tag('verdict')} · "
            f"{len(evidence.figures)} figure(s)"
        )
        pages.append((item_id, title, status))
    (out / "index.html").write_text(index_html(pages, style), encoding="utf-8")
    return Result(
        metrics={"pages_rendered": float(rendered), "pages_with_figures": float(with_figures)},
        dataset="none (renders the recorded s1.pca and s1.logreg runs)",
        artifacts={"writeup": out},
        params=params,
        notes=notes + failures,
        not_measured="; ".join(failures) or None,
    )
