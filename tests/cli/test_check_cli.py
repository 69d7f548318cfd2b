"""`roadmap check`: a learner's implementation through the CLI, right and wrong."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ai_roadmap.cli import app

runner = CliRunner()

UNCENTRED_PCA = '''
import numpy as np


class PCA:
    """Forgets to centre X before the SVD: the classic first bug."""

    def __init__(self, n_components=2):
        self.n_components = n_components

    def fit(self, X, y=None):
        _, s, vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
        self.components_ = vt[: self.n_components]
        var = s**2 / (len(X) - 1)
        self.explained_variance_ratio_ = (var / var.sum())[: self.n_components]
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) @ self.components_.T
'''

BINARY_ONLY_LOGREG = '''
import numpy as np


class LogReg:
    """Binary logistic regression by Newton's method, the roadmap's exercise."""

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        if len(np.unique(y)) != 2:
            raise ValueError("two classes only")
        n, d = X.shape
        Xt = np.hstack([X, np.ones((n, 1))])
        lam, pen, theta = 1.0 / (self.C * n), np.r_[np.ones(d), 0.0], np.zeros(d + 1)
        for _ in range(25):
            p = 1.0 / (1.0 + np.exp(-Xt @ theta))
            grad = Xt.T @ (p - y) / n + lam * pen * theta
            hess = (Xt * (p * (1 - p))[:, None]).T @ Xt / n + np.diag(lam * pen)
            theta -= np.linalg.solve(hess, grad)
        self.coef_, self.intercept_ = theta[None, :d], theta[d:]
        return self
'''


def test_check_our_pca_passes(roadmap_home: Path) -> None:
    result = runner.invoke(app, ["check", "s1.pca", "--impl", "ai_roadmap.foundations.pca:PCA"])
    assert result.exit_code == 0, result.output
    assert "checks passed" in result.output and "FAIL" not in result.output


def test_check_a_wrong_pca_fails_with_a_hint(roadmap_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "my_pca.py"
    path.write_text(UNCENTRED_PCA)
    result = runner.invoke(app, ["check", "s1.pca", "--impl", f"{path}:PCA"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "hint:" in result.output


def test_check_bad_impl_and_uncheckable_item(roadmap_home: Path, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["check", "s1.pca", "--impl", f"{tmp_path}/nope.py:PCA"])
    assert missing.exit_code == 2 and "no file" in missing.output
    no_name = runner.invoke(app, ["check", "s1.pca", "--impl", "ai_roadmap.foundations.pca"])
    assert no_name.exit_code == 2 and "module.path:Name" in no_name.output
    (tmp_path / "broken.py").write_text("import no_such_module_here\n")
    broken = runner.invoke(app, ["check", "s1.pca", "--impl", f"{tmp_path}/broken.py:PCA"])
    assert broken.exit_code == 2 and "importing" in broken.output
    titanic = runner.invoke(app, ["check", "s0.titanic", "--impl", "x.py:Y"])
    assert titanic.exit_code == 2 and "checkable: " in titanic.output and "s1.pca" in titanic.output
    assert "Traceback" not in titanic.output + broken.output + missing.output


def test_check_a_binary_only_logreg_passes(roadmap_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "my_logreg.py"
    path.write_text(BINARY_ONLY_LOGREG)
    wide = {"COLUMNS": "200"}  # one line per row of the table
    result = runner.invoke(app, ["check", "s1.logreg", "--impl", f"{path}:LogReg"], env=wide)
    assert result.exit_code == 0, result.output
    assert "all 5 checks passed" in result.output and "FAIL" not in result.output
    # shapes, multinomial weights and predict_proba: the three multinomial checks
    assert result.output.count("multinomial not provided (fit on 3 classes raised") == 3
    # the two comparisons it could not make are marked so (the shapes check checked 2 classes)
    assert "(2 optional parts not provided)" in result.output
