"""``roadmap check s1.pca``: our PCA passes every check; broken learners fail clearly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import sklearn.decomposition  # noqa: F401  (imported once here: the forked checks inherit it)

from ai_roadmap.checks import run_checks
from ai_roadmap.milestones.s1 import pca

MODULE = "ai_roadmap.milestones.s1.pca"


def learner_file(tmp_path: Path, body: str) -> str:
    """Write a learner's module and return its ``--impl`` spec."""
    path = tmp_path / "learner.py"
    path.write_text("import time\n\nimport numpy as np\n\n" + textwrap.dedent(body))
    return f"{path}:PCA"


# A textbook PCA with one classic slip each, selected by class attributes.
TEMPLATE = """
class PCA:
    centre = True
    keep_rows = True

    def __init__(self, n_components):
        self.n_components = n_components

    def fit(self, X):
        self.mean_ = X.mean(axis=0) if self.centre else np.zeros(X.shape[1])
        _, s, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        k = self.n_components
        self.components_ = vt[:k] if self.keep_rows else vt[:k].T
        self.explained_variance_ratio_ = (s**2 / (s**2).sum())[:k]
        return self

    def transform(self, X):
        return (X - self.mean_) @ np.atleast_2d(self.components_).T
"""


def test_our_pca_passes_every_check() -> None:
    results = run_checks(MODULE, "ai_roadmap.foundations.pca:PCA")
    assert len(results) == len(pca.CHECKS) == 5
    for check, outcome in results:
        assert outcome.passed, f"{check.name}: {outcome.detail}"
    errors = [o.error for _, o in results if o.error is not None]
    assert errors and max(errors) < 1e-10


def test_forgetting_to_centre_fails_the_component_check(tmp_path: Path) -> None:
    spec = learner_file(tmp_path, TEMPLATE + "\nPCA.centre = False\n")
    outcome = dict((c.name, o) for c, o in run_checks(MODULE, spec))["components match sklearn"]
    assert not outcome.passed
    assert outcome.error is not None and outcome.error > 1e-8
    assert "centre" in next(c.hint for c in pca.CHECKS if c.name == "components match sklearn")


def test_a_correct_learner_without_inverse_transform_passes(tmp_path: Path) -> None:
    results = run_checks(MODULE, learner_file(tmp_path, TEMPLATE))
    assert all(o.passed for _, o in results), [(c.name, o.detail) for c, o in results]
    round_trip = dict((c.name, o) for c, o in results)["inverse_transform round trip"]
    assert "not provided" in round_trip.detail


def test_wrong_shape_is_reported_not_crashed(tmp_path: Path) -> None:
    spec = learner_file(tmp_path, TEMPLATE + "\nPCA.keep_rows = False\n")
    outcomes = dict((c.name, o) for c, o in run_checks(MODULE, spec))
    shapes = outcomes["shapes"]
    assert not shapes.passed
    assert "components_ has shape (12, 5), expected (5, 12)" in shapes.detail
    assert "raised" not in outcomes["components match sklearn"].detail
    assert "shape" in outcomes["components match sklearn"].detail


def test_a_fit_that_raises_fails_every_check(tmp_path: Path) -> None:
    spec = learner_file(
        tmp_path,
        """
        class PCA:
            def __init__(self, n_components):
                self.n_components = n_components

            def fit(self, X):
                raise RuntimeError("not written yet")

            def transform(self, X):
                return X

            def inverse_transform(self, Z):
                return Z
        """,
    )
    results = run_checks(MODULE, spec)
    assert len(results) == 5
    for check, outcome in results:
        assert not outcome.passed, check.name
        assert "raised RuntimeError: not written yet" in outcome.detail


def test_a_fit_that_hangs_times_out(tmp_path: Path) -> None:
    spec = learner_file(
        tmp_path,
        """
        class PCA:
            def __init__(self, n_components):
                self.n_components = n_components

            def fit(self, X):
                time.sleep(60)
                return self
        """,
    )
    results = run_checks(MODULE, spec, timeout_scale=0.005)  # 60 s -> 0.3 s per check
    for check, outcome in results:
        assert not outcome.passed, check.name
        assert "timed out" in outcome.detail
