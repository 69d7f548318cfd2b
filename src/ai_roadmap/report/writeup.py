"""s1.writeup — each stage-1 experiment as a blog page: the derivation beside its code.

A page is assembled at run time from three sources, so it cannot drift from them:

* the derivation: Markdown with LaTeX in ``$…$`` / ``$$…$$``, one ``## section`` per
  step, in ``templates/<id>.md``;
* the code: :func:`inspect.getsource` of the objects that :data:`SOURCES` maps each
  section to (``"module:qualname"``);
* the evidence: metrics, tags and PNG figures of the experiment's latest finished
  MLflow run (read only; this milestone records nothing itself).

Per experiment it writes ``<id>.md`` (math kept as LaTeX) and ``<id>.html``, plus an
``index.html``. The HTML is self-contained apart from the PNGs copied into ``<id>/``
beside it: LaTeX is converted offline to MathML (``latex2mathml``; browsers render
MathML natively), code is highlighted by Pygments, CSS is inlined. No script, no CDN.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from ai_roadmap.errors import RoadmapError
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

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


class SourceNotFound(RoadmapError):
    """A ``"module:qualname"`` in :data:`SOURCES` names nothing that exists."""


# ---------------------------------------------------------------- LaTeX -> MathML

_TOKENS = re.compile(
    r"(?P<code>(?P<ticks>`+).+?(?P=ticks))"  # inline or fenced code: left alone
    r"|\$\$(?P<block>.+?)\$\$"  # display math
    r"|(?<![\\\w$])\$(?P<inline>[^\s$](?:(?:[^$\n]|\n(?!\n))*?[^\s$\\])?)\$(?!\w)",  # inline
    re.S,
)
_SLOT = "@@math{}@@"


def latex_to_mathml(latex: str, display: bool = False) -> str:
    """One LaTeX formula as MathML in its HTML5 form (namespace implied, source in alttext)."""
    from latex2mathml.converter import convert

    try:
        mathml = convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises several types for bad input
        raise ValueError(f"cannot convert LaTeX {latex.strip()!r} to MathML: {exc!r}") from exc
    unknown = re.findall(r">(\\[A-Za-z]+)<", mathml)  # unknown commands pass through as text
    if unknown:
        raise ValueError(f"latex2mathml does not support {', '.join(unknown)} in {latex!r}")
    mathml = mathml.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    # the thin space LaTeX puts after \log in "\log p" (but not in "\log(x)")
    mathml = re.sub(
        r"(<mi>(?:log|exp)</mi>)(?!<mo[^>]*>&#x00028;)", r'\1<mspace width="0.167em" />', mathml
    )
    alt = escape(" ".join(latex.split()), quote=True)
    return mathml.replace("<math ", f'<math alttext="{alt}" ', 1)


def markdown_to_html(text: str) -> str:
    """HTML for Markdown with LaTeX math; the math is set aside before Markdown sees it."""
    import markdown

    formulas: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        if match["code"] is not None:
            return match[0]
        display = match["block"] is not None
        mathml = latex_to_mathml(match["block"] if display else match["inline"], display)
        formulas.append(f'<div class="eq">{mathml}</div>' if display else mathml)
        slot = _SLOT.format(len(formulas) - 1)
        return f"\n\n{slot}\n\n" if display else slot  # a display formula is its own block

    body = markdown.markdown(_TOKENS.sub(set_aside, text), extensions=["fenced_code", "tables"])
    body = re.sub(r"<p>(@@math\d+@@)</p>", r"\1", body)  # no <div> inside a <p>
    return re.sub(r"@@math(\d+)@@", lambda m: formulas[int(m[1])], body)


# ---------------------------------------------------------------- code from the source


@dataclass(frozen=True)
class Source:
    """The text of one function or class as it is in the package right now."""

    ref: str
    code: str
    path: str  # e.g. "ai_roadmap/foundations/pca.py"
    first_line: int

    @property
    def last_line(self) -> int:
        return self.first_line + self.code.count("\n") - 1


def resolve(ref: str) -> Any:
    """The object named by ``"module:qualname"``, or a one-line :class:`SourceNotFound`."""
    module_name, _, qualname = ref.partition(":")
    if not module_name or not qualname:
        raise SourceNotFound(f"bad source reference {ref!r}: write it as 'module:qualname'")
    try:
        obj = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):  # the module itself, not its imports
            raise SourceNotFound(f"{ref}: module {module_name} does not exist") from None
        raise
    for part in qualname.split("."):
        if not hasattr(obj, part):
            raise SourceNotFound(
                f"{ref}: {module_name} has no {qualname} (no attribute {part!r}); "
                f"fix the mapping in {__name__}.SOURCES"
            )
        obj = getattr(obj, part)
    return obj


def source_of(ref: str) -> Source:
    """The dedented source of ``ref`` with its file and first line number."""
    obj = inspect.unwrap(resolve(ref))
    lines, first = inspect.getsourcelines(obj)
    file = Path(inspect.getsourcefile(obj) or "?")
    parts = file.parts
    shown = "/".join(parts[parts.index("ai_roadmap") :]) if "ai_roadmap" in parts else file.name
    return Source(ref, textwrap.dedent("".join(lines)), shown, first)


def highlight(source: Source, style: str) -> str:
    """Pygments HTML of the code, numbered with its real line numbers in the file."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(style=style, linenos="inline", linenostart=source.first_line)
    return pygmentize(source.code, PythonLexer(), formatter)


# ---------------------------------------------------------------- the derivation


@dataclass
class Derivation:
    """``templates/<id>.md`` split at its headings, each section with its code."""

    title: str
    intro: str
    sections: list[tuple[str, str, list[Source]]]  # (heading, Markdown, code beside it)


def template_text(name: str) -> str:
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


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
    sections = [
        (heading, body.strip(), [source_of(ref) for ref in mapped[heading]])
        for heading, body in zip(headings, bodies, strict=True)
    ]
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


def _code_html(sources: list[Source], style: str) -> str:
    blocks = []
    for src in sources:
        caption = (
            f"<code>{escape(src.ref)}</code>"
            f"<span>{escape(src.path)}:{src.first_line}–{src.last_line}</span>"
        )
        blocks.append(
            f'<figure class="source"><figcaption>{caption}</figcaption>'
            f"{highlight(src, style)}</figure>"
        )
    return "\n".join(blocks)


def _measured_html(item_id: str, evidence: Evidence | None) -> str:
    import markdown

    # the same Markdown as the .md page; tag values are text, so escape them before parsing
    text = escape(measured_markdown(item_id, evidence), quote=False)
    kind = "measured missing" if evidence is None else "measured"
    return f'<div class="{kind}">{markdown.markdown(text, extensions=["tables"])}</div>'


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def page_html(item_id: str, derivation: Derivation, evidence: Evidence | None, style: str) -> str:
    """The page as one HTML file: MathML, highlighted code and CSS all inline."""
    body = [
        f"<h1>{escape(derivation.title)}</h1>",
        f'<div class="intro">{markdown_to_html(derivation.intro)}</div>',
    ]
    for heading, text, sources in derivation.sections:  # derivation left, code right
        body.append(
            f'<h2 id="{_slug(heading)}">{escape(heading)}</h2><div class="pair">'
            f'<div class="derivation">{markdown_to_html(text)}</div>'
            f'<div class="code-col">{_code_html(sources, style)}</div></div>'
        )
    body.append(f'<h2 id="measured">Measured</h2>{_measured_html(item_id, evidence)}')
    nav = f'<a href="#measured">Measured results</a><a href="{item_id}.md">Markdown version</a>'
    return _fill(derivation.title, "\n".join(body), style, nav)


def _fill(title: str, body: str, style: str, nav: str = "") -> str:
    from pygments.formatters import HtmlFormatter

    css = HtmlFormatter(style=style).get_style_defs(".highlight")
    return Template(template_text("page.html")).substitute(
        title=escape(title),
        css=f"{css}\n{template_text('writeup.css')}",
        body=body,
        nav=nav,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


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
    return _fill("Stage 1 write-ups", f'<div class="index">{body}</div>', style)


# ---------------------------------------------------------------- the milestone


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


def run(cfg: DictConfig) -> Result:
    """Render one page per experiment from its derivation, its code and its latest run."""
    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    settings = get_settings()
    out = Path(cfg.output_dir) / "writeup"
    out.mkdir(parents=True, exist_ok=True)
    style = str(cfg.code_style)
    records = tracking.latest_records(settings)
    rendered, with_figures, failures = 0, 0, []
    pages, notes, params = [], [], {}
    for item_id in map(str, cfg.experiments):
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
