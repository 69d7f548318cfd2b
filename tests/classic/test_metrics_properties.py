"""Properties every correct metric has, on inputs drawn by hypothesis (no reference library)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ai_roadmap.classic import metrics as m

FAST = settings(max_examples=60, deadline=None)
# scores on a coarse grid so that ties are common
score = st.integers(-20, 20).map(lambda k: k / 4)
real = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
positive = st.floats(0, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def ranked(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels with both classes present and tied-heavy scores of the same length."""
    n = draw(st.integers(2, 40))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    assume(0 < y.sum() < n)
    return y, np.array(draw(st.lists(score, min_size=n, max_size=n)))


@st.composite
def paired(draw: st.DrawFn, elements: st.SearchStrategy) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 40))
    return draw(arrays(np.float64, n, elements=elements)), draw(
        arrays(np.float64, n, elements=elements)
    )


def quiet_f1(y: np.ndarray, pred: np.ndarray, **kwargs: str) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return m.f1_score(y, pred, **kwargs)


@FAST
@given(ranked(), st.sampled_from(["exp", "cube", "affine", "arctan"]))
def test_auc_is_invariant_to_strictly_increasing_transforms(case: tuple, transform: str) -> None:
    y, s = case
    transformed = {
        "exp": np.exp(s),
        "cube": s**3,
        "affine": 3.0 * s + 7.0,
        "arctan": np.arctan(s),
    }[transform]
    assert m.roc_auc_score(y, transformed) == m.roc_auc_score(y, s)
    assert m.average_precision_score(y, transformed) == m.average_precision_score(y, s)


@FAST
@given(ranked())
def test_negating_the_scores_gives_one_minus_the_auc(case: tuple) -> None:
    y, s = case
    assert abs(m.roc_auc_score(y, -s) - (1.0 - m.roc_auc_score(y, s))) < 1e-12


@FAST
@given(ranked())
def test_rank_and_trapezoid_auc_agree_and_lie_in_the_unit_interval(case: tuple) -> None:
    y, s = case
    auc = m.roc_auc_score(y, s)
    assert 0.0 <= auc <= 1.0
    assert abs(auc - m.roc_auc_trapezoid(y, s)) < 1e-12


@FAST
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(*[st.lists(st.integers(0, 1), min_size=n, max_size=n)] * 2)
    )
)
def test_binary_f1_is_symmetric_in_truth_and_prediction(case: tuple) -> None:
    """F1 = 2TP / (2TP + FP + FN): swapping the roles swaps FP and FN only."""
    y, pred = map(np.array, case)
    assert quiet_f1(y, pred) == quiet_f1(pred, y)
    assert quiet_f1(y, pred, average="macro") == quiet_f1(pred, y, average="macro")


@FAST
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(*[st.lists(st.integers(0, 4), min_size=n, max_size=n)] * 2)
    )
)
def test_confusion_matrix_counts_every_sample_once(case: tuple) -> None:
    y, pred = map(np.array, case)
    matrix = m.confusion_matrix(y, pred)
    assert matrix.sum() == len(y)
    assert np.trace(matrix) == np.sum(y == pred)
    assert abs(quiet_f1(y, pred, average="micro") - np.mean(y == pred)) < 1e-12  # = accuracy


@FAST
@given(paired(real))
def test_mae_never_exceeds_rmse(case: tuple) -> None:
    y, pred = case
    # + 1e-150: squaring an error below ~1e-154 underflows to 0 in float64
    assert (
        m.mean_absolute_error(y, pred) <= m.root_mean_squared_error(y, pred) * (1 + 1e-12) + 1e-150
    )


@FAST
@given(arrays(np.float64, st.integers(1, 40), elements=positive))
def test_rmsle_of_a_perfect_prediction_is_zero(y: np.ndarray) -> None:
    assert m.root_mean_squared_log_error(y, y) == 0.0
    assert m.root_mean_squared_error(y, y) == 0.0


@FAST
@given(st.integers(2, 5), st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_log_loss_is_non_negative_and_is_the_one_hot_cross_entropy(
    k: int, n: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    q = rng.dirichlet(np.full(k, 0.3), size=n)  # (n, k), entries near 0 and 1 are common
    loss = m.log_loss(y, q, labels=np.arange(k))
    assert loss >= 0.0
    assert loss == m.cross_entropy(np.eye(k)[y], q)
