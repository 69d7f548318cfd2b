"""ai_roadmap.classic.metrics against ``sklearn.metrics`` (float64, atol 1e-12).

Random inputs, edge cases and errors. Every expected value comes from scikit-learn
(or SciPy) on the same inputs; the inputs are drawn here, independently of the case
generator in :mod:`ai_roadmap.classic.metric_reference`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import sklearn.metrics as skm
from numpy.testing import assert_allclose, assert_array_equal

from ai_roadmap.classic import metrics as ours

pytestmark = pytest.mark.reference

ATOL = 1e-12
SEEDS = range(25)


def close(actual: Any, expected: Any) -> None:
    assert_allclose(actual, expected, rtol=0, atol=ATOL)


def quiet(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call fn with zero-division / undefined-metric warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def binary_scores(seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    s = rng.normal(size=n) + y
    return y, np.round(s, 1) if ties else s


def class_labels(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    y = rng.integers(0, k, n)
    return y, np.where(rng.random(n) < 0.4, rng.integers(0, k, n), y)


def probabilities(seed: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    q = rng.dirichlet(np.ones(k), size=n)  # (n, k)
    q[: n // 10] = np.eye(k)[rng.integers(0, k, n // 10)]  # exact 0 and 1
    return rng.integers(0, k, n), q


# ---------------------------------------------------------------- random inputs


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_ranking_metrics_match_sklearn(seed: int, ties: bool) -> None:
    y, s = binary_scores(seed, ties)
    close(ours.roc_auc_score(y, s), skm.roc_auc_score(y, s))
    close(ours.roc_auc_trapezoid(y, s), skm.roc_auc_score(y, s))
    close(ours.average_precision_score(y, s), skm.average_precision_score(y, s))
    for got, expected in zip(
        ours.roc_curve(y, s), skm.roc_curve(y, s, drop_intermediate=False), strict=True
    ):
        assert_array_equal(got, expected)  # same formula, same thresholds: bit for bit
    for got, expected in zip(
        ours.precision_recall_curve(y, s),
        skm.precision_recall_curve(y, s, drop_intermediate=False),
        strict=True,
    ):
        close(got, expected)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("seed", SEEDS)
def test_label_metrics_match_sklearn(seed: int, k: int) -> None:
    y, pred = class_labels(seed, k)
    assert_array_equal(ours.confusion_matrix(y, pred), skm.confusion_matrix(y, pred))
    for average in ("macro", "micro"):
        expected = quiet(skm.f1_score, y, pred, average=average)
        close(quiet(ours.f1_score, y, pred, average=average), expected)
    if k == 2:
        close(quiet(ours.f1_score, y, pred), quiet(skm.f1_score, y, pred))


@pytest.mark.parametrize("k", [2, 3, 6])
@pytest.mark.parametrize("seed", SEEDS)
def test_log_loss_and_cross_entropy_match_sklearn(seed: int, k: int) -> None:
    y, q = probabilities(seed, k)
    labels = np.arange(k)
    expected = skm.log_loss(y, q, labels=labels)
    close(ours.log_loss(y, q, labels=labels), expected)
    close(ours.cross_entropy(np.eye(k)[y], q), expected)  # one-hot targets: the log-loss
    if k == 2:
        close(ours.log_loss(y, q[:, 1], labels=labels), skm.log_loss(y, q[:, 1], labels=labels))


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 500))
    y = np.exp(rng.normal(size=n))
    pred = y * np.exp(rng.normal(scale=0.5, size=n)) - 0.5  # some predictions in (−1, 0)
    close(ours.mean_absolute_error(y, pred), skm.mean_absolute_error(y, pred))
    close(ours.root_mean_squared_error(y, pred), skm.root_mean_squared_error(y, pred))
    close(ours.root_mean_squared_log_error(y, pred), skm.root_mean_squared_log_error(y, pred))


def test_soft_cross_entropy_is_entropy_plus_kl() -> None:
    """H(p, q) = H(p) + KL(p ‖ q), both from scipy.stats.entropy, row by row."""
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(4), size=50), rng.dirichlet(np.ones(4), size=50)
    expected = np.mean([entropy(a) + entropy(a, b) for a, b in zip(p, q, strict=True)])
    close(ours.cross_entropy(p, q), expected)


# ---------------------------------------------------------------- edge cases

RANKED = {
    "ties across classes": ([0, 0, 1, 1, 0, 1], [0.5, 0.2, 0.5, 0.8, 0.8, 0.2]),
    "all scores equal": ([0, 1, 0, 1, 1], [0.3] * 5),
    "single positive on top": ([0, 0, 0, 1, 0], [0.1, 0.4, 0.35, 0.8, 0.2]),
    "single positive last": ([0, 0, 0, 1, 0], [0.1, 0.4, 0.35, 0.0, 0.2]),
    "single negative": ([1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]),
    "perfect": ([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]),
    "inverted": ([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]),
    "float labels": ([0.0, 1.0, 1.0, 0.0], [0.2, 0.9, 0.4, 0.6]),
    "labels -1/1, integer scores": ([-1, 1, 1, -1], [2, 7, 7, -3]),
    "boolean labels": ([False, True, True], [0.3, 0.3, 0.9]),
}


@pytest.mark.parametrize("case", list(RANKED), ids=list(RANKED))
def test_ranking_edge_cases(case: str) -> None:
    y, s = RANKED[case]
    close(ours.roc_auc_score(y, s), skm.roc_auc_score(y, s))
    close(ours.roc_auc_trapezoid(y, s), skm.roc_auc_score(y, s))
    close(ours.average_precision_score(y, s), skm.average_precision_score(y, s))
    for got, expected in zip(
        ours.roc_curve(y, s), skm.roc_curve(y, s, drop_intermediate=False), strict=True
    ):
        assert_array_equal(got, expected)


def test_perfect_inverted_and_tied_rankings_have_the_textbook_auc() -> None:
    assert ours.roc_auc_score(*RANKED["perfect"]) == 1.0
    assert ours.roc_auc_score(*RANKED["inverted"]) == 0.0
    assert ours.roc_auc_score(*RANKED["all scores equal"]) == 0.5
    assert ours.average_precision_score(*RANKED["perfect"]) == 1.0


def test_roc_auc_with_string_labels_takes_the_greater_label_as_positive() -> None:
    y, s = ["neg", "pos", "pos", "neg", "pos"], [0.1, 0.8, 0.8, 0.9, 0.05]
    close(ours.roc_auc_score(y, s), skm.roc_auc_score(y, s))


def test_average_precision_without_positives_is_zero_like_sklearn() -> None:
    y, s = [0, 0, 0], [0.2, 0.5, 0.1]
    expected = quiet(skm.average_precision_score, y, s)
    assert quiet(ours.average_precision_score, y, s) == expected == 0.0


LABEL_CASES = {
    "strings": (["cat", "dog", "bird", "cat", "dog"], ["cat", "bird", "bird", "dog", "cat"]),
    "a class never predicted": ([0, 1, 2, 2], [0, 2, 2, 2]),
    "one sample": ([3], [3]),
    "int truth, float predictions": ([0, 1, 2, 1], [0.0, 2.0, 2.0, 1.0]),
}


@pytest.mark.parametrize("case", list(LABEL_CASES), ids=list(LABEL_CASES))
def test_label_edge_cases(case: str) -> None:
    y, pred = LABEL_CASES[case]
    assert_array_equal(ours.confusion_matrix(y, pred), quiet(skm.confusion_matrix, y, pred))
    for average in ("macro", "micro"):
        expected = quiet(skm.f1_score, y, pred, average=average)
        close(quiet(ours.f1_score, y, pred, average=average), expected)


@pytest.mark.parametrize(
    "labels", [["dog", "cat", "fish"], ["bird"], ["fish", "bird", "dog", "cat"]]
)
def test_confusion_matrix_with_labels_orders_and_filters(labels: list[str]) -> None:
    y, pred = LABEL_CASES["strings"]
    expected = quiet(skm.confusion_matrix, y, pred, labels=labels)
    assert_array_equal(ours.confusion_matrix(y, pred, labels=labels), expected)


@pytest.mark.parametrize(
    ("y", "pred", "kwargs"),
    [
        ([0, 1, 1, 0], [0, 0, 0, 0], {}),  # no predicted positive: precision 0/0
        ([0, 0, 0], [0, 0, 0], {}),  # no positive at all: F1 0/0 → 0.0
        ([1, 0, 1], [1, 0, 1], {}),
        ([0, 1, 1], [0.0, 1.0, 0.0], {}),
        (["spam", "ham", "spam"], ["spam", "spam", "ham"], {"pos_label": "spam"}),
        (["spam", "ham", "spam"], ["spam", "spam", "ham"], {"pos_label": "ham"}),
    ],
)
def test_binary_f1_edge_cases(y: list, pred: list, kwargs: dict) -> None:
    close(quiet(ours.f1_score, y, pred, **kwargs), quiet(skm.f1_score, y, pred, **kwargs))


def test_f1_zero_division_returns_zero_and_warns() -> None:
    with pytest.warns(UserWarning, match="ill-defined"):
        assert ours.f1_score([0, 0, 0], [0, 0, 0]) == 0.0


def test_clipping_uses_the_dtype_machine_epsilon_like_sklearn() -> None:
    eps = np.finfo(np.float64).eps
    y, q = [0, 1, 1, 0], np.array([0.0, 1.0, 0.0, 1.0])  # two sure and right, two sure and wrong
    expected = -(2 * np.log(1 - eps) + 2 * np.log(eps)) / 4
    assert ours.log_loss(y, q) == pytest.approx(expected, rel=1e-15)
    close(ours.log_loss(y, q), skm.log_loss(y, q))
    close(ours.log_loss([0, 1, 2], np.eye(3)), skm.log_loss([0, 1, 2], np.eye(3)))
    close(
        ours.log_loss([0, 1, 2], np.eye(3)[[1, 2, 0]]),
        skm.log_loss([0, 1, 2], np.eye(3)[[1, 2, 0]]),
    )


def test_float32_probabilities_clip_at_float32_epsilon() -> None:
    y, q = [1, 0, 1, 0], np.array([0.0, 1.0, 0.3, 0.9], dtype=np.float32)  # two sure and wrong
    expected = skm.log_loss(y, q)
    assert ours.log_loss(y, q) == pytest.approx(expected, rel=1e-6)
    # −log(eps): 15.9 with the float32 eps, 36.0 with the float64 one
    assert ours.log_loss(y, q) < ours.log_loss(y, q.astype(np.float64)) - 9


def test_log_loss_with_string_labels_and_declared_labels() -> None:
    y, q = ["no", "yes", "yes"], [0.2, 0.7, 1.0]
    close(ours.log_loss(y, q), skm.log_loss(y, q))
    q3 = np.array([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8], [0.0, 0.0, 1.0]])
    close(
        ours.log_loss([0, 2, 2], q3, labels=[0, 1, 2]),
        skm.log_loss([0, 2, 2], q3, labels=[0, 1, 2]),
    )


def test_regression_edge_cases() -> None:
    for fn, reference in [
        (ours.mean_absolute_error, skm.mean_absolute_error),
        (ours.root_mean_squared_error, skm.root_mean_squared_error),
        (ours.root_mean_squared_log_error, skm.root_mean_squared_log_error),
    ]:
        assert fn([1.0, 2.0], [1.0, 2.0]) == 0.0
        close(fn([2.5], [0.0]), reference([2.5], [0.0]))
        close(fn([0, 3, 7], [0.0, 3.5, 6.0]), reference([0, 3, 7], [0.0, 3.5, 6.0]))


# ---------------------------------------------------------------- errors


def both_raise(ours_call: Any, sklearn_call: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        quiet(ours_call)
    with pytest.raises(ValueError):
        quiet(sklearn_call)


def pair(name: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return (lambda: getattr(ours, name)(*args, **kwargs)), (
        lambda: getattr(skm, name)(*args, **kwargs)
    )


ERRORS = {
    "auc length mismatch": (pair("roc_auc_score", [0, 1, 1], [0.1, 0.2]), "inconsistent"),
    "auc empty": (pair("roc_auc_score", [], []), "empty"),
    "auc three classes": (pair("roc_auc_score", [0, 1, 2], [0.1, 0.2, 0.3]), "two classes"),
    "ap invalid pos_label": (pair("average_precision_score", [2, 3], [0.1, 0.2]), "pos_label"),
    "roc_curve labels 1/2": (pair("roc_curve", [1, 2, 2], [0.1, 0.2, 0.3]), "pos_label"),
    "f1 multiclass binary": (pair("f1_score", [0, 1, 2], [0, 1, 1]), "multiclass"),
    "f1 invalid pos_label": (pair("f1_score", ["a", "b"], ["b", "b"]), "pos_label"),
    "f1 mixed types": (pair("f1_score", ["a", "b"], [0, 1]), "mix"),
    "f1 continuous": (pair("f1_score", [0.5, 1.0], [0.0, 1.0]), "continuous"),
    "f1 length mismatch": (pair("f1_score", [0, 1], [0, 1, 1]), "inconsistent"),
    "cm labels absent": (pair("confusion_matrix", [0, 1], [0, 1], labels=[5]), "at least one"),
    "cm empty labels": (pair("confusion_matrix", [0, 1], [0, 1], labels=[]), "at least one"),
    "log-loss one class": (pair("log_loss", [1, 1], [0.5, 0.9]), "one label"),
    "log-loss above 1": (pair("log_loss", [0, 1], [0.5, 1.5]), r"\[0, 1\]"),
    "log-loss negative": (pair("log_loss", [0, 1], [-0.1, 0.5]), r"\[0, 1\]"),
    "log-loss columns": (pair("log_loss", [0, 1, 2], np.full((3, 2), 0.5)), "columns"),
    "log-loss label absent": (
        pair("log_loss", [0, 3], [[0.5, 0.5], [0.5, 0.5]], labels=[0, 1]),
        "not in labels",
    ),
    "log-loss length": (pair("log_loss", [0, 1, 1], [0.2, 0.4]), "inconsistent"),
    "mae empty": (pair("mean_absolute_error", [], []), "empty"),
    "rmse length": (pair("root_mean_squared_error", [1.0, 2.0], [1.0]), "inconsistent"),
    "rmsle -1": (pair("root_mean_squared_log_error", [1.0, -1.0], [1.0, 2.0]), "-1"),
    "rmsle -3 predicted": (pair("root_mean_squared_log_error", [1.0, 2.0], [-3.0, 2.0]), "-1"),
}


@pytest.mark.parametrize("case", list(ERRORS), ids=list(ERRORS))
def test_invalid_inputs_raise_value_error_like_sklearn(case: str) -> None:
    (ours_call, sklearn_call), match = ERRORS[case]
    both_raise(ours_call, sklearn_call, match)


def test_roc_auc_with_one_class_raises_where_sklearn_gives_nan() -> None:
    """A deliberate deviation: sklearn 1.9 warns and returns NaN (older versions raised)."""
    with pytest.raises(ValueError, match=r"exactly two classes.*undefined"):
        ours.roc_auc_score([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both positive and negative"):
        ours.roc_curve([0, 0], [0.1, 0.2])
    try:
        result = quiet(skm.roc_auc_score, [1, 1, 1], [0.1, 0.2, 0.3])
    except ValueError:
        return
    assert np.isnan(result)


def test_non_finite_scores_raise() -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        ours.roc_auc_score([0, 1], [0.1, np.nan])
    with pytest.raises(ValueError):
        skm.roc_auc_score([0, 1], [0.1, np.nan])
