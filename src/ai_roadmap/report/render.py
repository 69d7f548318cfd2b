"""Rendering for the write-ups: LaTeX to MathML, Markdown with math, code from the source.

Everything here works offline and produces self-contained HTML:

* math: LaTeX in ``$…$`` / ``$$…$$`` becomes MathML with ``latex2mathml`` (browsers
  render MathML natively, so a page needs no script and no CDN); the formulas are set
  aside before Markdown sees them, so ``_`` and ``*`` inside math never turn into
  emphasis, and code spans are left alone;
* code: :func:`source_of` reads a function or class by ``"module:qualname"`` with
  :func:`inspect.getsource`, with its file and real line numbers, and :func:`highlight`
  colours it with Pygments;
* the page: :func:`page_shell` fills ``templates/page.html`` with the Pygments CSS and
  ``templates/writeup.css`` inline.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from ai_roadmap.errors import RoadmapError


class SourceNotFound(RoadmapError):
    """A ``"module:qualname"`` names nothing that exists."""


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
            raise SourceNotFound(f"{ref}: {module_name} has no {qualname} (no attribute {part!r})")
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


def code_html(sources: list[Source], style: str) -> str:
    """Each source as a ``<figure>``: its reference and lines as caption, then the code."""
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


# ---------------------------------------------------------------- the page


def template_text(name: str) -> str:
    """A file of ``ai_roadmap/report/templates``."""
    return resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def slug(heading: str) -> str:
    """An HTML id for a heading: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def page_shell(title: str, body: str, style: str, nav: str = "") -> str:
    """The whole HTML page around ``body``: the CSS of the Pygments ``style`` inline."""
    from pygments.formatters import HtmlFormatter

    css = HtmlFormatter(style=style).get_style_defs(".highlight")
    return Template(template_text("page.html")).substitute(
        title=escape(title),
        css=f"{css}\n{template_text('writeup.css')}",
        body=body,
        nav=nav,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
