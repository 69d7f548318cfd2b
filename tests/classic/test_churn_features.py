"""ChurnFeatures and the s2.churn figures on hand-made customers: values, fit-only statistics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score, roc_auc_score

from ai_roadmap.classic.churn import (
    auc_lift_pct,
    best_f1_threshold,
    bootstrap_lift_ci,
    gini_lift_pct,
    platt,
    rank_auc,
    split_table,
)
from ai_roadmap.classic.churn_features import (
    BASELINE_COLUMNS,
    CATEGORICAL,
    LABEL,
    ChurnFeatures,
    build_baseline,
)

NAN = float("nan")


def customer(tenure: float, monthly: float, total: float, **kw: object) -> dict[str, object]:
    """One raw Telco row (the table less ``churn``), DSL with no add-ons unless told."""
    row: dict[str, object] = dict(
        female=0, senior_citizen=0, partner=0, dependents=0, tenure=tenure, phone_service=1,
        multiple_lines="No", internet_service="DSL", online_security="No", online_backup="No",
        device_protection="No", tech_support="No", streaming_tv="No", streaming_movies="No",
        contract="Month-to-month", paperless_billing=1, payment_method="Electronic check",
        monthly_charges=monthly, total_charges=total,
    )  # fmt: skip
    row.update(kw)
    return row


def table(*rows: dict[str, object]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    for column in ("female", "senior_citizen", "partner", "dependents", "phone_service"):
        frame[column] = frame[column].astype("int64")
    frame["tenure"] = frame["tenure"].astype("int64")
    return frame


@pytest.fixture
def train() -> pd.DataFrame:
    return table(
        customer(1, 20.0, 20.0),
        customer(10, 50.0, 450.0, online_security="Yes", tech_support="Yes"),
        customer(24, 80.0, 1900.0, contract="One year", payment_method="Mailed check"),
        customer(48, 100.0, 4800.0, contract="Two year", internet_service="Fiber optic"),
        customer(72, 60.0, 4300.0, contract="Two year", streaming_tv="Yes"),
        customer(0, 30.0, NAN),
    )


def test_engineered_values_by_hand(train: pd.DataFrame) -> None:
    out = ChurnFeatures().fit(train).transform(train)
    row = out.iloc[1]  # tenure 10, monthly 50, total 450
    assert row["charges_per_month"] == pytest.approx(45.0)
    assert row["charges_gap"] == pytest.approx(50.0 * 10 - 450.0)
    assert row["n_addons"] == 2
    assert row["contract_payment"] == "Month-to-month | Electronic check"
    assert out.iloc[2]["contract_payment"] == "One year | Mailed check"
    assert out["n_addons"].tolist() == [0, 2, 0, 0, 1, 0]


def test_missing_total_charges_is_monthly_times_tenure() -> None:
    frame = table(customer(0, 30.0, NAN), customer(5, 40.0, NAN), customer(3, 10.0, 30.0))
    out = ChurnFeatures().fit(frame).transform(frame)
    assert out["total_charges"].tolist() == [0.0, 200.0, 30.0]
    assert out["charges_per_month"].tolist() == [0.0, 40.0, 10.0]  # tenure 0 divides by 1
    assert out["charges_gap"].tolist() == [0.0, 0.0, 0.0]
    assert not out.select_dtypes("number").isna().any().any()


def test_output_schema(train: pd.DataFrame) -> None:
    features = ChurnFeatures().fit(train)
    out = features.transform(train)
    assert list(out.columns) == features.get_feature_names_out().tolist()
    for column in (*CATEGORICAL, "contract_payment"):
        assert isinstance(out[column].dtype, pd.CategoricalDtype), column
    assert (
        out.drop(columns=[*CATEGORICAL, "contract_payment"])
        .dtypes.map(pd.api.types.is_numeric_dtype)
        .all()
    )
    assert out.index.equals(train.index)


def test_statistics_come_from_fit_rows_only(train: pd.DataFrame) -> None:
    features = ChurnFeatures(n_tenure_buckets=3).fit(train)
    edges = features.tenure_edges_.copy()
    np.testing.assert_allclose(edges, np.quantile(train["tenure"], [1 / 3, 2 / 3]))
    later = table(
        customer(500, 900.0, 9000.0, contract="Three year"),
        customer(600, 950.0, 9500.0, payment_method="Bitcoin"),
    )
    both = pd.concat([train, later], ignore_index=True)
    transformed = features.transform(both)
    # transforming new rows changes nothing learned, and the fit rows' features stay the same
    np.testing.assert_array_equal(features.tenure_edges_, edges)
    assert "Three year" not in features.categories_["contract"]
    pd.testing.assert_frame_equal(transformed.iloc[: len(train)], features.transform(train))
    # refitting on other rows moves every statistic
    refit = clone(features).fit(later)
    assert not np.array_equal(refit.tenure_edges_, edges)
    assert refit.medians_["tenure"] == 550.0 and features.medians_["tenure"] == 17.0


def test_unknown_categories_become_missing_not_errors(train: pd.DataFrame) -> None:
    features = ChurnFeatures().fit(train)
    new = table(customer(3, 25.0, 75.0, contract="Three year", internet_service="5G"))
    out = features.transform(new)
    assert pd.isna(out.loc[0, "contract"]) and pd.isna(out.loc[0, "internet_service"])
    assert pd.isna(out.loc[0, "contract_payment"])
    assert out.loc[0, "payment_method"] == "Electronic check"
    assert list(out["contract"].cat.categories) == ["Month-to-month", "One year", "Two year"]
    gap = table(customer(3, 25.0, 75.0, contract=None))
    assert pd.isna(features.transform(gap).loc[0, "contract_payment"])
    with_gap = ChurnFeatures().fit(pd.concat([train, gap], ignore_index=True))
    assert with_gap.categories_["contract_payment"] == features.categories_["contract_payment"]


def test_lightgbm_pipeline_predicts_rows_with_unseen_levels(train: pd.DataFrame) -> None:
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import make_pipeline

    X = pd.concat([train] * 5, ignore_index=True)
    y = np.tile([1, 0, 0, 0, 0, 1], 5)
    booster = LGBMClassifier(n_estimators=5, min_child_samples=2, verbose=-1, n_jobs=1)
    pipe = make_pipeline(ChurnFeatures(), booster).fit(X, y)
    new = table(customer(3, 25.0, NAN, contract="Three year", payment_method="Bitcoin"))
    proba = pipe.predict_proba(new)
    assert proba.shape == (1, 2) and np.isfinite(proba).all()


def test_missing_numbers_take_fit_medians(train: pd.DataFrame) -> None:
    features = ChurnFeatures().fit(train)
    new = table(customer(1, 20.0, 20.0)).astype({"tenure": "float64"})
    new.loc[0, ["tenure", "monthly_charges", "total_charges"]] = NAN
    out = features.transform(new)
    tenure, monthly = features.medians_["tenure"], features.medians_["monthly_charges"]
    assert tenure == np.median(train["tenure"]) and monthly == np.median(train["monthly_charges"])
    assert out.loc[0, "tenure"] == tenure and out.loc[0, "monthly_charges"] == monthly
    assert out.loc[0, "total_charges"] == pytest.approx(tenure * monthly)


def test_tenure_bucket_follows_the_edges(train: pd.DataFrame) -> None:
    features = ChurnFeatures(n_tenure_buckets=2).fit(train)
    (edge,) = features.tenure_edges_  # the fit rows' median tenure: 17
    probe = table(*(customer(t, 50.0, 50.0 * t) for t in (0, 16, 17, 18, 100)))
    assert features.transform(probe)["tenure_bucket"].tolist() == [0, 0, 1, 1, 1]
    assert edge == 17.0


def test_bad_arguments_and_missing_columns(train: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="n_tenure_buckets"):
        ChurnFeatures(n_tenure_buckets=0).fit(train)
    with pytest.raises(ValueError, match="contract"):
        ChurnFeatures().fit(train.drop(columns="contract"))


def test_baseline_reads_only_raw_numeric_columns(train: pd.DataFrame) -> None:
    y = np.array([1, 0, 0, 0, 0, 1])
    baseline = build_baseline().fit(train, y)
    assert baseline[0].transformers_[0][2] == list(BASELINE_COLUMNS)
    shuffled = train.copy()
    for column in CATEGORICAL:
        shuffled[column] = shuffled[column].iloc[::-1].to_numpy()
    np.testing.assert_array_equal(baseline.predict_proba(train), baseline.predict_proba(shuffled))


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def test_split_is_disjoint_stratified_and_seeded() -> None:
    y = np.r_[np.ones(250, dtype=int), np.zeros(750, dtype=int)]
    frame = pd.DataFrame({"tenure": np.arange(1000), LABEL: y})
    split = split_table(frame, test_size=0.2, val_size=0.25, seed=0)
    parts = [split.X_fit.index, split.X_val.index, split.X_test.index]
    assert [len(p) for p in parts] == [600, 200, 200]
    assert len(set().union(*map(set, parts))) == 1000
    for labels in (split.y_fit, split.y_val, split.y_test):
        assert labels.mean() == 0.25
    again = split_table(frame, test_size=0.2, val_size=0.25, seed=0)
    assert again.X_test.index.equals(split.X_test.index)
    assert LABEL not in split.X_fit.columns


def test_lift_formulas() -> None:
    assert auc_lift_pct(0.9, 0.8) == pytest.approx(12.5)
    assert auc_lift_pct(0.8, 0.8) == 0.0
    assert gini_lift_pct(0.85, 0.8) == pytest.approx(100 * (0.7 - 0.6) / 0.6)
    assert auc_lift_pct(0.76, 0.8) < 0


def test_rank_auc_matches_sklearn_with_ties_and_batches() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (4, 300))
    p = np.round(rng.uniform(size=(4, 300)) + 0.3 * y, 1)  # rounded: many ties
    expected = [roc_auc_score(y[b], p[b]) for b in range(4)]
    np.testing.assert_allclose(rank_auc(y, p), expected, rtol=0, atol=1e-12)
    assert rank_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75


def _f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = np.sum(predicted & (y == 1))
    return 2 * tp / (predicted.sum() + y.sum())


def test_best_f1_threshold_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)
    threshold, f1 = best_f1_threshold(y, p)
    brute = {t: _f1(y, p >= t) for t in np.unique(p)}
    best = max(brute, key=lambda t: brute[t])
    assert f1 == pytest.approx(brute[best])
    assert f1_score(y, (p >= threshold).astype(int)) == pytest.approx(f1)


def test_bootstrap_interval_brackets_the_lift() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    strong = y + rng.normal(0, 0.6, 400)
    weak = y + rng.normal(0, 1.5, 400)
    lift = auc_lift_pct(roc_auc_score(y, strong), roc_auc_score(y, weak))
    low, high = bootstrap_lift_ci(y, strong, weak, 300, seed=0)
    assert 0 < low < lift < high
    same_low, same_high = bootstrap_lift_ci(y, weak, weak, 50, seed=0)
    assert same_low == same_high == 0.0


def test_platt_is_monotone_and_fixes_a_shifted_scale() -> None:
    rng = np.random.default_rng(2)
    truth = rng.uniform(0.05, 0.95, 5000)
    y = (rng.uniform(size=5000) < truth).astype(int)
    overconfident = 1 / (1 + np.exp(-3 * np.log(truth / (1 - truth))))
    calibrate = platt(overconfident, y)
    fixed = calibrate(overconfident)
    order = np.argsort(overconfident)
    assert np.all(np.diff(fixed[order]) >= -1e-12)
    assert np.mean((fixed - y) ** 2) < np.mean((overconfident - y) ** 2)
    assert math.isclose(np.mean(np.abs(fixed - truth)), 0, abs_tol=0.03)
