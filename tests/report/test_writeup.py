"""The stage-1 write-ups: every formula of the templates converts, every mapped name
resolves to library code, and a page holds the real source, MathML and nothing remote."""

from __future__ import annotations

import html
import inspect
import re

import pytest

from ai_roadmap.report import render, writeup
from ai_roadmap.report.render import (
    SourceNotFound,
    latex_to_mathml,
    markdown_to_html,
    source_of,
    template_text,
)
from ai_roadmap.report.writeup import SOURCES, load_derivation, page_html, page_markdown

ALL_REFS = sorted(
    {ref for sections in SOURCES.values() for refs in sections.values() for ref in refs}
)


def _text_of(page: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# ---------------------------------------------------------------- the templates


@pytest.mark.parametrize("item_id", list(SOURCES))
def test_every_formula_in_the_templates_converts(item_id: str) -> None:
    text = template_text(f"{item_id}.md")
    formulas = [m for m in render._TOKENS.finditer(text) if m["code"] is None]
    assert len(formulas) > 10
    for match in formulas:
        latex_to_mathml(match["block"] or match["inline"], display=match["block"] is not None)


@pytest.mark.parametrize("item_id", list(SOURCES))
def test_no_latex_is_left_as_text(item_id: str) -> None:
    page = markdown_to_html(template_text(f"{item_id}.md"))
    text = _text_of(re.sub(r"<math.*?</math>", "", page, flags=re.S))
    assert "$" not in text and "\\" not in text  # e.g. a formula broken across two lines


# ---------------------------------------------------------------- the code beside them


@pytest.mark.parametrize("ref", ALL_REFS)
def test_every_mapped_name_resolves(ref: str) -> None:
    source = source_of(ref)
    name = ref.rpartition(".")[2].rpartition(":")[2]
    assert re.search(rf"^(def|class) {name}\b", source.code, re.M)
    assert source.first_line > 1 and source.last_line >= source.first_line


def test_both_experiments_map_their_sections() -> None:
    assert set(SOURCES) == {"s1.pca", "s1.logreg"}
    for sections in SOURCES.values():
        assert sections and all(refs for refs in sections.values())


def test_the_code_shown_is_the_library_s() -> None:
    """A page shows the maths as the library implements it, never a milestone's glue."""
    assert ALL_REFS and all(ref.startswith("ai_roadmap.foundations.") for ref in ALL_REFS)


def test_template_sections_must_match_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"s1.pca": {**SOURCES["s1.pca"], "A section the template lacks": ()}}
    monkeypatch.setattr(writeup, "SOURCES", table)
    with pytest.raises(ValueError, match="do not match"):
        load_derivation("s1.pca")


def test_a_stale_mapping_names_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = {**SOURCES["s1.pca"], "Signs of the axes": ("ai_roadmap.foundations.pca:gone",)}
    monkeypatch.setattr(writeup, "SOURCES", {"s1.pca": stale})
    with pytest.raises(SourceNotFound, match=r"no attribute 'gone'.*writeup\.SOURCES"):
        load_derivation("s1.pca")


# ---------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def pca_page() -> tuple[str, str]:
    """The s1.pca page, Markdown and HTML, as rendered before any run was recorded."""
    derivation = load_derivation("s1.pca")
    return page_markdown("s1.pca", derivation, None), page_html(
        "s1.pca", derivation, None, "default"
    )


def test_code_blocks_hold_the_real_source(pca_page: tuple[str, str]) -> None:
    from ai_roadmap.foundations import pca

    markdown_page, html_page = pca_page
    fit = inspect.getsource(pca.PCA.fit)
    body = fit.strip().splitlines()[-3].strip()  # a line from inside the method
    for page in (markdown_page, _text_of(html_page)):
        assert "def fit(self" in page
        assert "def inverse_transform(self" in page
        assert body in page
    assert '<figure class="source">' in html_page and 'class="highlight"' in html_page


def test_html_has_two_columns_and_mathml(pca_page: tuple[str, str]) -> None:
    _, html_page = pca_page
    assert html_page.count('<div class="pair">') == len(SOURCES["s1.pca"])
    assert html_page.count("<math") > 20
    assert "$$" not in html_page and "\\frac" not in _text_of(html_page)  # all became MathML


def test_markdown_keeps_the_latex(pca_page: tuple[str, str]) -> None:
    markdown_page, _ = pca_page
    assert r"$$X_c = U \Sigma V^\top" in markdown_page
    assert "```python\n# ai_roadmap/foundations/pca.py, lines" in markdown_page


def test_html_loads_nothing_from_the_network(pca_page: tuple[str, str]) -> None:
    _, html_page = pca_page
    assert "<script" not in html_page and "<link" not in html_page
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html_page)
    references += re.findall(r"""url\(\s*["']?([^"')]*)""", html_page)
    references += re.findall(r"""@import\s+["']?([^"';]*)""", html_page)
    assert references  # the nav links are found, so the pattern works
    assert not [ref for ref in references if re.match(r"(?i)(https?:)?//", ref)]
    assert "http://" not in html_page and "https://" not in html_page


def test_missing_run_message(pca_page: tuple[str, str]) -> None:
    markdown_page, html_page = pca_page
    assert "no recorded run yet — run `roadmap run s1.pca`" in markdown_page
    assert "no recorded run yet — run roadmap run s1.pca" in _text_of(html_page)
    assert '<div class="measured missing">' in html_page and "<img" not in html_page
