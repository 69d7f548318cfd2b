"""Stage-1 write-ups: each experiment as a blog page, the derivation beside its code.

A page is assembled at render time from three sources, so it cannot drift from them:

* the derivation: Markdown with LaTeX in ``$…$`` / ``$$…$$``, one ``## section`` per
  step, in ``templates/<id>.md``;
* the code: the source of the objects that :data:`SOURCES` maps each section to
  (``"module:qualname"``, library code only), read by :func:`render.source_of`;
* the evidence: metrics, tags and PNG figures of the experiment's latest finished
  MLflow run (read only: rendering records nothing).

:func:`render_page` writes ``<id>.md`` (math kept as LaTeX) and ``<id>.html``, and
:func:`index_html` the landing page. The HTML is self-contained apart from the PNGs
copied into ``<id>/`` beside it (:mod:`ai_roadmap.report.render`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ai_roadmap.report.render import (
    Source,
    SourceNotFound,
    code_html,
    markdown_to_html,
    page_shell,
    slug,
    source_of,
    template_text,
)

if TYPE_CHECKING:
    from ai_roadmap.settings import Settings
    from ai_roadmap.tracking import Record

PCA, LOGREG = "ai_roadmap.foundations.pca", "ai_roadmap.foundations.logreg"

# section heading of templates/<id>.md -> the code shown beside it ("module:qualname")
SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "s1.pca": {
        "Centring and the SVD": (f"{PCA}:PCA.fit",),
        "Signs of the axes": (f"{PCA}:flip_signs",),
        "Explained variance ratio": (f"{PCA}:components_for_fraction", f"{PCA}:PCA._kept"),
        "Projection and whitening": (f"{PCA}:PCA.transform",),
        "Reconstruction and its error": (
            f"{PCA}:PCA.inverse_transform",
            f"{PCA}:reconstruct",
            f"{PCA}:reconstruction_mse",
        ),
    },
    "s1.logreg": {
        "The model": (f"{LOGREG}:probabilities", f"{LOGREG}:LogisticRegression.predict_proba"),
        "The penalised negative log-likelihood": (
            f"{LOGREG}:mean_log_loss",
            f"{LOGREG}:LogisticRegression.fit",
        ),
        "The gradient": (f"{LOGREG}:objective",),
        "The Hessian and the Newton step": (f"{LOGREG}:hessian", f"{LOGREG}:newton"),
        "Stochastic gradient descent with averaging": (f"{LOGREG}:step_size", f"{LOGREG}:sgd"),
    },
}

MISSING_RUN = "no recorded run yet — run `roadmap run {item_id}`"


# ---------------------------------------------------------------- the derivation


@dataclass
class Derivation:
    """``templates/<id>.md`` split at its headings, each section with its code."""

    title: str
    intro: str
    sections: list[tuple[str, str, list[Source]]]  # (heading, Markdown, code beside it)


def load_derivation(item_id: str) -> Derivation:
    """The derivation of one experiment with its mapped code, checked against SOURCES."""
    if item_id not in SOURCES:
        raise SourceNotFound(f"no write-up for {item_id}; known: {', '.join(SOURCES)}")
    text = template_text(f"{item_id}.md")
    title_match = re.match(r"# (.+)\n", text)
    if title_match is None:
        raise ValueError(f"templates/{item_id}.md must start with a '# title' line")
    intro, *rest = re.split(r"^## (.+)\n", text[title_match.end() :], flags=re.M)
    headings, bodies = rest[0::2], rest[1::2]
    mapped = SOURCES[item_id]
    if set(headings) != set(mapped):
        raise ValueError(
            f"templates/{item_id}.md sections {sorted(headings)} do not match "
            f"{__name__}.SOURCES[{item_id!r}] {sorted(mapped)}"
        )
    try:
        sections = [
            (heading, body.strip(), [source_of(ref) for ref in mapped[heading]])
            for heading, body in zip(headings, bodies, strict=True)
        ]
    except SourceNotFound as exc:
        raise SourceNotFound(f"{exc}; fix the mapping in {__name__}.SOURCES") from None
    return Derivation(title_match[1].strip(), intro.strip(), sections)


# ---------------------------------------------------------------- the recorded run


@dataclass
class Evidence:
    """What the latest finished run of an experiment measured, figures copied locally."""

    run_id: str
    date: str
    tags: dict[str, str]
    metrics: dict[str, float]
    figures: list[str] = field(default_factory=list)  # paths relative to the pages

    def tag(self, name: str) -> str:
        return self.tags.get("roadmap." + name, "") or "—"


def _png_paths(mlflow_client: Any, run_id: str, folder: str | None = None) -> list[str]:
    found: list[str] = []
    for info in mlflow_client.list_artifacts(run_id, folder):
        if info.is_dir:
            found += _png_paths(mlflow_client, run_id, info.path)
        elif info.path.lower().endswith(".png"):
            found.append(info.path)
    return sorted(found)


def fetch_evidence(settings: Settings, record: Record, out: Path) -> Evidence:
    """Metrics and tags of ``record``; its PNG artefacts copied into ``out/<id>/``."""
    from ai_roadmap import tracking

    mlflow_client, _ = tracking.client(settings)
    figures = []
    for path in _png_paths(mlflow_client, record.run_id):
        folder = out / record.item_id / Path(path).parent  # keeps the run's sub-folders
        folder.mkdir(parents=True, exist_ok=True)
        local = Path(mlflow_client.download_artifacts(record.run_id, path, str(folder)))
        figures.append(local.relative_to(out).as_posix())
    return Evidence(record.run_id, record.date, record.tags, record.metrics, figures)


# ---------------------------------------------------------------- the pages


def _ordered_metrics(evidence: Evidence) -> list[tuple[str, float]]:
    first = evidence.tags.get("roadmap.metric", "")  # the target's metric leads the table
    return sorted(evidence.metrics.items(), key=lambda kv: (kv[0] != first, kv[0]))


def _run_line(item_id: str, evidence: Evidence) -> str:
    return (
        f"Latest finished run `{evidence.run_id}` · {evidence.date} UTC · "
        f"`roadmap run {item_id} --scale {evidence.tag('scale')}` · "
        f"git `{evidence.tag('git_sha')}`  \nDataset: {evidence.tag('dataset')}  \n"
        f"Verdict: **{evidence.tag('verdict')}** — {evidence.tag('reason')}"
    )


def measured_markdown(item_id: str, evidence: Evidence | None) -> str:
    """The page's last section: the run, its metrics and figures, or the missing-run line."""
    if evidence is None:
        return MISSING_RUN.format(item_id=item_id) + ", then render this page again."
    rows = [f"| `{name}` | {value:.6g} |" for name, value in _ordered_metrics(evidence)]
    table = "\n".join(["| metric | value |", "|---|---:|", *rows])
    figures = "\n".join(f"![{Path(fig).stem}]({fig})" for fig in evidence.figures)
    return "\n\n".join([_run_line(item_id, evidence), table, figures])


def page_markdown(item_id: str, derivation: Derivation, evidence: Evidence | None) -> str:
    """The page as Markdown: LaTeX kept as ``$…$``, code in fenced blocks, figures linked."""
    parts = [f"# {derivation.title}", derivation.intro]
    for heading, body, sources in derivation.sections:
        parts += [f"## {heading}", body]
        for src in sources:
            where = f"# {src.path}, lines {src.first_line}–{src.last_line} ({src.ref})"
            parts.append(f"```python\n{where}\n{src.code.rstrip()}\n```")
    parts += ["## Measured", measured_markdown(item_id, evidence)]
    return "\n\n".join(parts) + "\n"


def _measured_html(item_id: str, evidence: Evidence | None) -> str:
    import markdown

    # the same Markdown as the .md page; tag values are text, so escape them before parsing
    text = escape(measured_markdown(item_id, evidence), quote=False)
    kind = "measured missing" if evidence is None else "measured"
    return f'<div class="{kind}">{markdown.markdown(text, extensions=["tables"])}</div>'


def page_html(item_id: str, derivation: Derivation, evidence: Evidence | None, style: str) -> str:
    """The page as one HTML file: MathML, highlighted code and CSS all inline."""
    body = [
        f"<h1>{escape(derivation.title)}</h1>",
        f'<div class="intro">{markdown_to_html(derivation.intro)}</div>',
    ]
    for heading, text, sources in derivation.sections:  # derivation left, code right
        body.append(
            f'<h2 id="{slug(heading)}">{escape(heading)}</h2><div class="pair">'
            f'<div class="derivation">{markdown_to_html(text)}</div>'
            f'<div class="code-col">{code_html(sources, style)}</div></div>'
        )
    body.append(f'<h2 id="measured">Measured</h2>{_measured_html(item_id, evidence)}')
    nav = f'<a href="#measured">Measured results</a><a href="{item_id}.md">Markdown version</a>'
    return page_shell(derivation.title, "\n".join(body), style, nav)


def index_html(pages: list[tuple[str, str, str]], style: str) -> str:
    """The landing page: one entry (id, title, status line) per experiment."""
    import markdown

    items = [
        f"- [{title}]({item_id}.html) · `{item_id}` · [Markdown]({item_id}.md)  \n"
        f"  {escape(status)}"  # a status can quote an error message
        for item_id, title, status in pages
    ]
    intro = "Each page sets a derivation beside the code that implements it, then the latest run."
    body = markdown.markdown("\n".join(["# Stage 1 write-ups", intro, "", *items]))
    return page_shell("Stage 1 write-ups", f'<div class="index">{body}</div>', style)


def render_page(
    item_id: str, record: Record | None, settings: Settings, out: Path, style: str
) -> tuple[str, Evidence | None]:
    """Write ``<id>.md`` and ``<id>.html`` into ``out``; the page's title and evidence."""
    derivation = load_derivation(item_id)
    evidence = None if record is None else fetch_evidence(settings, record, out)
    (out / f"{item_id}.md").write_text(page_markdown(item_id, derivation, evidence), "utf-8")
    (out / f"{item_id}.html").write_text(
        page_html(item_id, derivation, evidence, style), encoding="utf-8"
    )
    return derivation.title, evidence
