"""The check harness: time limits, a run budget, checks skipped after a hang, fitting hints."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap.checks import Check, Outcome, hint_for, record, run_checks, summarise
from ai_roadmap.cli import app

PCA = "ai_roadmap.milestones.s1.pca"

HANGING_FIT = """
class PCA:
    def __init__(self, n_components=2):
        self.n_components = n_components

    def fit(self, X, y=None):
        while True:
            pass
"""

HANGING_TRANSFORM = """
import numpy as np
from sklearn.decomposition import PCA as Reference


class PCA:
    def __init__(self, n_components=2):
        self.n_components = n_components

    def fit(self, X, y=None):
        ref = Reference(self.n_components, svd_solver="full").fit(X)
        self.components_ = ref.components_
        self.explained_variance_ratio_ = ref.explained_variance_ratio_
        self.mean_ = ref.mean_
        return self

    def transform(self, X):
        while True:
            pass
"""

RAISING = """
class PCA:
    def __init__(self, n_components=2):
        self.n_components = n_components

    def fit(self, X, y=None):
        raise ZeroDivisionError("my bug")
"""

NO_TRANSFORM = """
import numpy as np


class PCA:
    def __init__(self, n_components=2):
        self.n_components = n_components

    def fit(self, X, y=None):
        self.components_ = np.zeros((self.n_components, X.shape[1]))
        return self
"""


def _impl(tmp_path: Path, source: str) -> str:
    path = tmp_path / "learner.py"
    path.write_text(source)
    return f"{path}:PCA"


def test_a_fit_that_never_returns_costs_one_time_limit(tmp_path: Path) -> None:
    started = time.monotonic()
    results = run_checks(PCA, _impl(tmp_path, HANGING_FIT), timeout_scale=0.05)  # 3 s limits
    took = time.monotonic() - started
    first, rest = results[0][1], [o for _, o in results[1:]]
    assert first.timed_out == "fit" and first.status == "FAIL" and "fit timed out" in first.detail
    assert rest and all(
        o.status == "not run" and o.detail == "not run: fit timed out" for o in rest
    )
    assert took < 3.0 + 2.0  # one limit, not one per check
    assert "loop that never ends" in hint_for(results[0][0], first, 3.0)


def test_a_hang_in_another_method_is_named(tmp_path: Path) -> None:
    results = run_checks(PCA, _impl(tmp_path, HANGING_TRANSFORM), timeout_scale=0.05)
    timed_out = [o for _, o in results if o.timed_out]
    assert [o.timed_out for o in timed_out] == ["transform"]
    assert "transform timed out" in timed_out[0].detail
    # the checks before the hang ran on their own merits; the ones after were skipped
    index = next(i for i, (_, o) in enumerate(results) if o.timed_out)
    assert all(o.ran for _, o in results[: index + 1])
    assert all(not o.ran for _, o in results[index + 1 :])


def test_the_whole_run_has_a_budget(tmp_path: Path) -> None:
    results = run_checks(PCA, _impl(tmp_path, HANGING_FIT), timeout_scale=0.05, budget_s=20)
    assert results[0][1].detail.endswith("after 1 s")  # min(60, 20) × 0.05
    skipped = run_checks(PCA, f"{PCA.replace('milestones.s1', 'foundations')}:PCA", 1.0, 0.0)
    assert all(o.detail == "not run: the time budget was used up" for _, o in skipped)


def test_an_exception_gets_a_hint_about_the_exception(tmp_path: Path) -> None:
    results = run_checks(PCA, _impl(tmp_path, RAISING), timeout_scale=0.2)
    check, outcome = results[0]
    assert outcome.raised == "ZeroDivisionError" and "my bug" in outcome.detail
    hint = hint_for(check, outcome, 12.0)
    assert hint.startswith("your code raised ZeroDivisionError") and "my bug" in hint
    wrong = Outcome(False, 0.5, "max |Δ| = 0.5")
    assert hint_for(check, wrong, 12.0) == check.hint


def test_the_adapter_paragraph_shows_only_when_asked_or_when_the_object_does_not_fit(
    roadmap_home: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    ours = runner.invoke(app, ["check", "s1.pca", "--impl", "ai_roadmap.foundations.pca:PCA"])
    assert ours.exit_code == 0, ours.output
    assert "must be" not in ours.output and "all 5 checks passed" in ours.output
    explained = runner.invoke(
        app, ["check", "s1.pca", "--impl", "ai_roadmap.foundations.pca:PCA", "--explain"]
    )
    assert explained.exit_code == 0 and "your object must be" in explained.output
    misfit = runner.invoke(app, ["check", "s1.pca", "--impl", _impl(tmp_path, NO_TRANSFORM)])
    assert misfit.exit_code == 1
    assert "your object must be" in misfit.output and "AttributeError" in misfit.output
    hanging = runner.invoke(
        app,
        ["check", "s1.pca", "--impl", _impl(tmp_path, HANGING_FIT), "--timeout-scale", "0.05"],
    )
    text = " ".join(hanging.output.split())  # the console wraps long lines
    assert hanging.exit_code == 1 and "not run" in text
    assert "loop that never ends" in text and "must be" not in text
    assert "Traceback" not in misfit.output + hanging.output


@pytest.mark.parametrize(("error", "passed"), [(1e-7, True), (2e-6, False), (float("nan"), False)])
def test_a_record_passes_at_most_at_its_tolerance(error: float, passed: bool) -> None:
    rec = record("x", error, 1e-6)
    assert rec.passed is passed
    metrics, notes = summarise([rec])
    assert metrics["checks_failed"] == float(not passed)
    assert notes[0].startswith("pass" if passed else "FAIL")


def test_a_check_that_calls_only_some_methods_still_runs_after_a_hang_elsewhere() -> None:
    only_fit = Check("fit only", lambda obj: Outcome(True), "", calls=("fit",))
    assert only_fit.calls == ("fit",) and Check("any", only_fit.run, "").calls is None
