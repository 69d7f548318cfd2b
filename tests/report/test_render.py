"""Rendering pieces: LaTeX -> MathML, Markdown with math, code read from the source."""

from __future__ import annotations

import inspect
import re

import pytest

from ai_roadmap.report.render import (
    SourceNotFound,
    latex_to_mathml,
    markdown_to_html,
    resolve,
    source_of,
)

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


# ---------------------------------------------------------------- code from the source


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
