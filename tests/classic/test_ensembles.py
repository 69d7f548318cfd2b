"""s2.theory ensembles: our boosting and stacking reproduce scikit-learn's to round-off,
our bagging matches ``BaggingRegressor`` in distribution, and each check catches a
deliberately wrong variant.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_roadmap.checks import CheckRecord
from ai_roadmap.classic import ensembles as ens

pytestmark = pytest.mark.reference


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="module")
def data() -> ens.EnsembleData:
    return ens.make_data(rng(), n_train=200, n_test=300, noise_sd=1.0)


def assert_detected(rec: CheckRecord) -> None:
    assert not rec.passed, rec
    assert rec.error > rec.tolerance, rec


# ---------------------------------------------------------------- gradient boosting


def test_boosting_matches_sklearn_stage_by_stage(data: ens.EnsembleData) -> None:
    from sklearn.ensemble import GradientBoostingRegressor

    ours = ens.boosting_fit(data.x, data.y, 40, 0.1, 3, random_state=7)
    ref = GradientBoostingRegressor(
        loss="squared_error", learning_rate=0.1, n_estimators=40, max_depth=3, random_state=7
    ).fit(data.x, data.y)
    assert ours.init == pytest.approx(float(ref.init_.constant_.ravel()[0]), rel=1e-14)
    staged = np.stack(list(ref.staged_predict(data.x_test)))
    np.testing.assert_allclose(
        ens.boosting_staged_predict(ours, data.x_test), staged, rtol=0, atol=1e-10
    )


def test_boosting_check_passes(data: ens.EnsembleData) -> None:
    rec = ens.check_boosting_sklearn(data, 30, 0.1, 3)
    assert rec.passed, rec
    assert rec.error < 1e-10


def test_boosting_without_shrinkage_is_detected(data: ens.EnsembleData) -> None:
    def no_shrinkage(x, y, n_estimators, learning_rate, max_depth, random_state, criterion):
        return ens.boosting_fit(x, y, n_estimators, 1.0, max_depth, random_state, criterion)

    assert_detected(ens.check_boosting_sklearn(data, 30, 0.1, 3, fit=no_shrinkage))


def test_boosting_from_zero_instead_of_the_mean_is_detected(data: ens.EnsembleData) -> None:
    def zero_init(x, y, n_estimators, learning_rate, max_depth, random_state, criterion):
        model = ens.boosting_fit(x, y, n_estimators, learning_rate, max_depth, random_state)
        return ens.BoostedTrees(0.0, model.learning_rate, model.trees)

    assert_detected(ens.check_boosting_sklearn(data, 30, 0.1, 3, fit=zero_init))


def test_boosting_fitting_targets_instead_of_residuals_is_detected(data: ens.EnsembleData) -> None:
    from sklearn.tree import DecisionTreeRegressor

    def fits_y(x, y, n_estimators, learning_rate, max_depth, random_state, criterion):
        shared = np.random.RandomState(random_state)
        trees = tuple(
            DecisionTreeRegressor(max_depth=max_depth, random_state=shared).fit(x, y - y.mean())
            for _ in range(n_estimators)
        )  # every tree fits the same centred target: no gradient step
        return ens.BoostedTrees(float(y.mean()), learning_rate, trees)

    assert_detected(ens.check_boosting_sklearn(data, 30, 0.1, 3, fit=fits_y))


# ---------------------------------------------------------------- bagging


def test_bagging_check_passes(data: ens.EnsembleData) -> None:
    rec = ens.check_bagging_sklearn(data, 20, 4, rng(1))
    assert rec.passed, rec


def test_bagging_without_bootstrap_is_detected(data: ens.EnsembleData) -> None:
    from sklearn.tree import DecisionTreeRegressor

    def no_bootstrap(x, y, n_estimators, generator):  # M copies of one deep tree
        return [
            DecisionTreeRegressor(random_state=int(generator.integers(2**31))).fit(x, y)
            for _ in range(n_estimators)
        ]

    assert_detected(ens.check_bagging_sklearn(data, 20, 4, rng(1), bag=no_bootstrap))


def test_bagging_average_over_sklearns_own_bootstraps_is_its_prediction(
    data: ens.EnsembleData,
) -> None:
    """Refit on BaggingRegressor's bootstrap draws, our averaging gives its prediction.

    scikit-learn fits each tree on all rows with the bootstrap counts as sample
    weights (the same weighted squared error as repeating the rows, but the tree
    then breaks ties between equal splits in another order), so we do the same here.
    """
    from sklearn.ensemble import BaggingRegressor
    from sklearn.tree import DecisionTreeRegressor

    ref = BaggingRegressor(DecisionTreeRegressor(), n_estimators=10, random_state=3)
    ref.fit(data.x, data.y)
    trees = [
        DecisionTreeRegressor(random_state=est.random_state).fit(
            data.x, data.y, sample_weight=np.bincount(rows, minlength=len(data.y))
        )
        for est, rows in zip(ref.estimators_, ref.estimators_samples_, strict=True)
    ]
    np.testing.assert_allclose(
        ens.bagging_staged_predict(trees, data.x_test)[-1],
        ref.predict(data.x_test),
        rtol=1e-12,
        atol=1e-12,
    )


def test_bagging_staged_predict_is_the_running_mean() -> None:
    class Constant:
        def __init__(self, value: float) -> None:
            self.value = value

        def predict(self, x: np.ndarray) -> np.ndarray:
            return np.full(len(x), self.value)

    staged = ens.bagging_staged_predict([Constant(1.0), Constant(3.0), Constant(8.0)], np.zeros(2))
    np.testing.assert_allclose(staged[:, 0], [1.0, 2.0, 4.0], rtol=1e-15)


# ---------------------------------------------------------------- stacking


@pytest.mark.parametrize(("n", "k"), [(200, 5), (203, 5), (10, 3)])
def test_folds_are_sklearns_kfold(n: int, k: int) -> None:
    from sklearn.model_selection import KFold

    expected = [test for _, test in KFold(k).split(np.zeros((n, 1)))]
    got = ens.kfold_test_folds(n, k)
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_out_of_fold_predictions_are_cross_val_predict(data: ens.EnsembleData) -> None:
    from sklearn.model_selection import KFold, cross_val_predict

    z = ens.out_of_fold_predictions(ens.base_estimators(), data.x, data.y, 5)
    for j, (_, estimator) in enumerate(ens.base_estimators()):
        expected = cross_val_predict(estimator, data.x, data.y, cv=KFold(5))
        np.testing.assert_allclose(z[:, j], expected, rtol=1e-12, atol=1e-12)


def test_least_squares_matches_linear_regression() -> None:
    from sklearn.linear_model import LinearRegression

    g = rng(2)
    z, y = g.standard_normal((50, 3)), g.standard_normal(50)
    coef, intercept = ens.least_squares(z, y)
    ref = LinearRegression().fit(z, y)
    np.testing.assert_allclose(coef, ref.coef_, rtol=1e-10, atol=1e-12)
    assert intercept == pytest.approx(ref.intercept_, abs=1e-12)


def test_stacking_check_passes(data: ens.EnsembleData) -> None:
    rec = ens.check_stacking_sklearn(data, 5)
    assert rec.passed, rec
    assert rec.error < 1e-10


def test_stacking_on_in_sample_predictions_is_detected(data: ens.EnsembleData) -> None:
    from sklearn.base import clone

    def in_sample(estimators, x, y, n_folds):  # the leak stacking exists to avoid
        return np.column_stack([clone(e).fit(x, y).predict(x) for _, e in estimators])

    def leaky(estimators, x, y, n_folds):
        return ens.stacking_fit(estimators, x, y, n_folds, meta_features=in_sample)

    assert_detected(ens.check_stacking_sklearn(data, 5, fit=leaky))


def test_stacking_with_other_folds_is_detected(data: ens.EnsembleData) -> None:
    def three_folds(estimators, x, y, n_folds):
        return ens.stacking_fit(estimators, x, y, 3)

    assert_detected(ens.check_stacking_sklearn(data, 5, fit=three_folds))


def test_friedman1_matches_sklearns_formula() -> None:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=100, n_features=10, noise=0.0, random_state=0)
    signal = 10 * np.sin(np.pi * x[:, 0] * x[:, 1]) + 20 * (x[:, 2] - 0.5) ** 2
    np.testing.assert_allclose(signal + 10 * x[:, 3] + 5 * x[:, 4], y, rtol=1e-12)
    ours_x, ours_y = ens.friedman1(rng(3), 100, noise_sd=0.0)
    ours_signal = 10 * np.sin(np.pi * ours_x[:, 0] * ours_x[:, 1])
    ours_signal += 20 * (ours_x[:, 2] - 0.5) ** 2 + 10 * ours_x[:, 3] + 5 * ours_x[:, 4]
    np.testing.assert_allclose(ours_y, ours_signal, rtol=1e-12)
