"""``roadmap check s1.logreg``: our class passes every check; classic slips fail clearly;
a binary-only learner passes with the multinomial checks reported not provided."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import sklearn.linear_model  # noqa: F401  (imported once here: the forked checks inherit it)

from ai_roadmap.checks import Outcome, run_checks
from ai_roadmap.milestones.s1 import logreg

MODULE = "ai_roadmap.milestones.s1.logreg"
MULTINOMIAL = ("shapes", "multinomial weights (wine)", "predict_proba rows sum to 1 (wine)")


def learner_file(tmp_path: Path, body: str) -> str:
    """Write a learner's module and return its ``--impl`` spec."""
    path = tmp_path / "learner.py"
    path.write_text("import numpy as np\n\n" + textwrap.dedent(body))
    return f"{path}:LogReg"


# A learner's plain Newton method (binary: one sigmoid; K ≥ 3: softmax over all K), with
# one classic slip each, switched on by a class attribute.
TEMPLATE = """
def newton(Xt, Y, lam, pen):
    n, p = Xt.shape
    K = Y.shape[1]
    theta = np.zeros((K, p))
    for _ in range(25):
        Z = Xt @ theta.T
        if K == 1:
            P = 1.0 / (1.0 + np.exp(-Z))
        else:
            E = np.exp(Z - Z.max(axis=1, keepdims=True))
            P = E / E.sum(axis=1, keepdims=True)
        G = (P - Y).T @ Xt / n + lam * theta * pen
        S = P[:, :, None] * (np.eye(K) - P[:, None, :])
        H = np.einsum("nkl,na,nb->kalb", S, Xt, Xt).reshape(K * p, -1) / n
        H += np.diag(np.tile(lam * pen, K))
        theta -= np.linalg.lstsq(H, G.ravel(), rcond=None)[0].reshape(K, p)
    return theta


class LogReg:
    penalise_intercept = False
    penalty_per_sample = True  # False: λ = 1/C on the mean loss, n times too strong
    transpose_coef = False
    binary_only = None  # "raise": refuses K ≥ 3; "one row": the last class against the rest
    one_vs_rest = False  # K ≥ 3: K separate sigmoids instead of one softmax
    reference_class = False  # K ≥ 3: class 0 fixed at z = 0, K − 1 rows

    def __init__(self, C):
        self.C = C

    def fit(self, X, y):
        classes = np.unique(y)
        if self.binary_only and len(classes) > 2:
            if self.binary_only == "raise":
                raise ValueError("this learner handles two classes only")
            classes = classes[[0, -1]]
        K = 1 if len(classes) == 2 else len(classes)
        n, d = X.shape
        Xt = np.hstack([X, np.ones((n, 1))])
        Y = (y[:, None] == classes[1]).astype(float) if K == 1 else np.eye(K)[y]
        lam = 1.0 / (self.C * n) if self.penalty_per_sample else 1.0 / self.C
        pen = np.r_[np.ones(d), 1.0 if self.penalise_intercept else 0.0]
        if self.one_vs_rest and K > 1:
            theta = np.vstack([newton(Xt, Y[:, [k]], lam, pen) for k in range(K)])
        else:
            theta = newton(Xt, Y, lam, pen)
        if self.reference_class and K > 1:
            theta = theta[1:] - theta[0]  # the same probabilities, class 0 as reference
        self.coef_ = theta[:, :d].T if self.transpose_coef else theta[:, :d]
        self.intercept_ = theta[:, d]
        return self
"""


def outcomes(spec: str) -> dict[str, Outcome]:
    return {check.name: outcome for check, outcome in run_checks(MODULE, spec)}


def test_our_logistic_regression_passes_every_check() -> None:
    results = run_checks(MODULE, "ai_roadmap.foundations.logreg:LogisticRegression")
    assert len(results) == len(logreg.CHECKS) == 5
    for check, outcome in results:
        assert outcome.passed, f"{check.name}: {outcome.detail}"
    errors = [o.error for _, o in results if o.error is not None]
    assert errors and max(errors) < 1e-5  # Newton is exact; lbfgs itself is ~1e-6 off


def test_a_correct_learner_passes_and_predict_proba_is_optional(tmp_path: Path) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE))
    assert all(o.passed for o in found.values()), {k: o.detail for k, o in found.items()}
    assert "not provided" in found["predict_proba rows sum to 1 (wine)"].detail


def test_penalising_the_intercept_fails_intercept_and_weights(tmp_path: Path) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE + "\nLogReg.penalise_intercept = True\n"))
    intercept = found["binary intercept (breast cancer)"]
    assert not intercept.passed
    assert intercept.error is not None and intercept.error > 1e-3
    weights = found["binary weights (breast cancer)"]  # a penalised b drags w along
    assert not weights.passed and weights.error is not None and weights.error > 1e-3
    assert found["shapes"].passed
    hint = next(c.hint for c in logreg.CHECKS if c.name == "binary intercept (breast cancer)")
    assert "not penalised" in hint


def test_the_wrong_penalty_scaling_fails_the_weight_checks(tmp_path: Path) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE + "\nLogReg.penalty_per_sample = False\n"))
    for name in ("binary weights (breast cancer)", "multinomial weights (wine)"):
        assert not found[name].passed, name
        assert found[name].error is not None and found[name].error > 1e-3
    hint = next(c.hint for c in logreg.CHECKS if c.name == "binary weights (breast cancer)")
    assert "1/(C·n)" in hint


def test_a_transposed_coef_is_reported_not_crashed(tmp_path: Path) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE + "\nLogReg.transpose_coef = True\n"))
    assert not found["shapes"].passed
    assert "coef_ has shape (30, 1), expected (1, 30)" in found["shapes"].detail
    weights = found["binary weights (breast cancer)"]
    assert not weights.passed and "raised" not in weights.detail and "shape" in weights.detail


def test_a_fit_that_raises_fails_every_check(tmp_path: Path) -> None:
    spec = learner_file(
        tmp_path,
        """
        class LogReg:
            def __init__(self, C):
                self.C = C

            def fit(self, X, y):
                raise RuntimeError("not written yet")
        """,
    )
    for name, outcome in outcomes(spec).items():
        assert not outcome.passed, name
        assert "raised RuntimeError: not written yet" in outcome.detail


@pytest.mark.parametrize("binary_only", ["raise", "one row"])
def test_a_correct_binary_only_learner_passes_with_multinomial_not_provided(
    tmp_path: Path, binary_only: str
) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE + f"\nLogReg.binary_only = {binary_only!r}\n"))
    assert all(o.passed for o in found.values()), {k: o.detail for k, o in found.items()}
    for name in MULTINOMIAL:
        assert "multinomial not provided" in found[name].detail, name
    assert "coef_ (1, 30), intercept_ (1,)" in found["shapes"].detail
    for name in ("binary weights (breast cancer)", "binary intercept (breast cancer)"):
        assert found[name].error is not None and found[name].error < logreg.BAR


def test_one_vs_rest_fails_the_multinomial_check(tmp_path: Path) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE + "\nLogReg.one_vs_rest = True\n"))
    multinomial = found["multinomial weights (wine)"]
    assert not multinomial.passed and "not provided" not in multinomial.detail
    assert multinomial.error is not None and multinomial.error > 1e-3
    assert found["shapes"].passed and found["binary weights (breast cancer)"].passed


def test_a_reference_class_fails_shapes_and_multinomial(tmp_path: Path) -> None:
    found = outcomes(learner_file(tmp_path, TEMPLATE + "\nLogReg.reference_class = True\n"))
    assert not found["shapes"].passed
    assert "wine: coef_ has shape (2, 13), expected (3, 13)" in found["shapes"].detail
    multinomial = found["multinomial weights (wine)"]
    assert not multinomial.passed and "shape" in multinomial.detail
    assert found["binary weights (breast cancer)"].passed
