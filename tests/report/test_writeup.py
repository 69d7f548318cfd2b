"""s1.writeup pieces: LaTeX -> MathML, Markdown with math, code from the source, offline HTML."""

from __future__ import annotations

import html
import inspect
import re

import pytest

from ai_roadmap.report import writeup
from ai_roadmap.report.writeup import (
    SOURCES,
    SourceNotFound,
    latex_to_mathml,
    load_derivation,
    markdown_to_html,
    page_html,
    page_markdown,
    resolve,
    source_of,
    template_text,
)

ALL_REFS = sorted(
    {ref for sections in SOURCES.values() for refs in sections.values() for ref in refs}
)


def _text_of(page: str) -> str:
    """The visible text of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# ---------------------------------------------------------------- LaTeX -> MathML


def test_power_becomes_msup() -> None:
    mathml = latex_to_mathml("x^2")
    assert mathml.startswith("<math") and mathml.endswith("</math>")
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in mathml
    assert 'display="inline"' in mathml


def test_fraction_becomes_mfrac_and_display_is_block() -> None:
    mathml = latex_to_mathml(r"\frac{a}{b}", display=True)
    assert re.search(r"<mfrac>.*<mi>a</mi>.*<mi>b</mi>.*</mfrac>", mathml)
    assert 'display="block"' in mathml


def test_greek_sum_and_transpose() -> None:
    mathml = latex_to_mathml(r"\sum_{j>k} \lambda_j + V^\top")
    assert "&#x02211;" in mathml  # ∑
    assert "&#x003BB;" in mathml  # λ
    assert "<msup><mi>V</mi><mo>&#x022A4;</mo></msup>" in mathml  # Vᵀ


def test_mathml_is_html5_with_the_source_as_alttext() -> None:
    mathml = latex_to_mathml(r"a < b")
    assert "xmlns" not in mathml  # the HTML parser puts <math> in the MathML namespace
    assert 'alttext="a &lt; b"' in mathml


@pytest.mark.parametrize("latex", [r"\arg\min_w f", "x^"])
def test_unsupported_or_broken_latex_is_an_error(latex: str) -> None:
    with pytest.raises(ValueError, match=r"LaTeX|support"):
        latex_to_mathml(latex)


def test_markdown_keeps_math_away_from_emphasis() -> None:
    out = markdown_to_html("Let $a_1 + b_1$ be *small*:\n\n$$x_i^2$$\n\nand `$not math$`.")
    assert "<em>small</em>" in out
    assert out.count("<math") == 2
    assert "<msub><mi>a</mi><mn>1</mn></msub>" in out  # the underscores reached latex2mathml
    assert '<div class="eq"><math' in out and "<p><div" not in out
    assert "<code>$not math$</code>" in out


def test_a_dollar_amount_is_not_math() -> None:
    out = markdown_to_html(r"It costs \$5 and $x$ is math.")
    assert out.count("<math") == 1


def test_inline_math_may_wrap_a_line_but_not_a_paragraph() -> None:
    assert markdown_to_html("a $x +\ny$ b").count("<mo>&#x0002B;</mo>") == 1
    assert "<math" not in markdown_to_html("a $x\n\ny$ b")


@pytest.mark.parametrize("item_id", list(SOURCES))
def test_every_formula_in_the_templates_converts(item_id: str) -> None:
    text = template_text(f"{item_id}.md")
    formulas = [m for m in writeup._TOKENS.finditer(text) if m["code"] is None]
    assert len(formulas) > 10
    for match in formulas:
        latex_to_mathml(match["block"] or match["inline"], display=match["block"] is not None)


@pytest.mark.parametrize("item_id", list(SOURCES))
def test_no_latex_is_left_as_text(item_id: str) -> None:
    page = markdown_to_html(template_text(f"{item_id}.md"))
    text = _text_of(re.sub(r"<math.*?</math>", "", page, flags=re.S))
    assert "$" not in text and "\\" not in text  # e.g. a formula broken across two lines


# ---------------------------------------------------------------- code from the source


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


def test_source_is_the_real_text_with_its_line_numbers() -> None:
    from ai_roadmap.foundations import pca

    source = source_of("ai_roadmap.foundations.pca:PCA.fit")
    lines, first = inspect.getsourcelines(pca.PCA.fit)
    assert source.code.startswith("def fit(self")  # dedented out of the class
    assert source.first_line == first
    assert source.path == "ai_roadmap/foundations/pca.py"
    assert source.code.count("\n") == len(lines)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("ai_roadmap.foundations.pca:PCA.fitt", "has no PCA.fitt"),
        ("ai_roadmap.foundations.pca:Nothing", "no attribute 'Nothing'"),
        ("ai_roadmap.foundations.no_such_module:f", "does not exist"),
        ("ai_roadmap.foundations.pca", "module:qualname"),
    ],
)
def test_a_missing_name_is_a_clear_error(ref: str, message: str) -> None:
    with pytest.raises(SourceNotFound, match=re.escape(message)):
        resolve(ref)


def test_template_sections_must_match_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {"s1.pca": {**SOURCES["s1.pca"], "A section the template lacks": ()}}
    monkeypatch.setattr(writeup, "SOURCES", table)
    with pytest.raises(ValueError, match="do not match"):
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
