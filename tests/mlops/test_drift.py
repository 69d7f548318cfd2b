"""PSI and CSI against a case worked by hand, against SciPy's KL divergence (the symmetric-KL
identity) and against an independent bucketing with pandas (qcut on the reference, cut on the
batch); the bands, missing values and unseen categories."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from ai_roadmap.mlops.drift import (
    FeatureDrift,
    band,
    characteristic_stability_index,
    feature_drift,
    numeric_counts,
    population_stability_index,
    quantile_edges,
    stability_index,
)


def test_a_case_worked_by_hand() -> None:
    # shares e = (0.5, 0.3, 0.2), a = (0.3, 0.3, 0.4):
    # (0.3-0.5)ln(0.3/0.5) + 0 + (0.4-0.2)ln(0.4/0.2) = 0.2·ln(5/3) + 0.2·ln 2
    by_hand = 0.2 * math.log(5 / 3) + 0.2 * math.log(2)
    assert stability_index(np.array([50, 30, 20]), np.array([3, 3, 4])) == pytest.approx(
        by_hand, abs=1e-15
    )
    assert by_hand == pytest.approx(0.2408, abs=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_equals_the_symmetric_kl_divergence_from_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e, a = rng.integers(1, 100, 12), rng.integers(1, 100, 12)
    p, q = e / e.sum(), a / a.sum()
    assert stability_index(e, a) == pytest.approx(entropy(q, p) + entropy(p, q), rel=1e-12)


def _psi_with_pandas(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    """An independent PSI: pandas' qcut finds the edges, cut buckets the batch."""
    _, edges = pd.qcut(reference, bins, retbins=True, duplicates="drop")
    edges[0], edges[-1] = -np.inf, np.inf
    e = pd.Series(pd.cut(reference, edges)).value_counts(sort=False).to_numpy() / len(reference)
    a = pd.Series(pd.cut(current, edges)).value_counts(sort=False).to_numpy() / len(current)
    e, a = np.maximum(e, 1e-4), np.maximum(a, 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


@pytest.mark.parametrize(
    ("shift", "scale", "bins"), [(0.0, 1.0, 10), (0.3, 1.0, 10), (1.0, 1.5, 10), (0.5, 1.0, 20)]
)
def test_psi_equals_an_independent_bucketing(shift: float, scale: float, bins: int) -> None:
    rng = np.random.default_rng(7)
    reference = rng.normal(size=5000)
    current = rng.normal(shift, scale, size=3000)
    ours = population_stability_index(reference, current, bins)
    assert ours == pytest.approx(_psi_with_pandas(reference, current, bins), rel=1e-12)


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = rng.exponential(size=20_000)
    assert population_stability_index(reference, rng.exponential(size=20_000)) < 0.01
    assert population_stability_index(reference, rng.exponential(2.0, size=20_000)) > 0.25


def test_edges_are_the_reference_quantiles_with_ties_merged() -> None:
    x = np.arange(1, 101, dtype=float)
    np.testing.assert_array_equal(quantile_edges(x, 4), np.quantile(x, [0.25, 0.5, 0.75]))
    assert quantile_edges(np.array([1.0] * 50 + [2.0] * 50), 10).tolist() == [1.0, 1.5, 2.0]
    # a value on an edge closes that bucket; missing values are the last bucket
    counts = numeric_counts(np.array([0.5, 1.0, 1.2, 3.0, np.nan]), np.array([1.0, 2.0]))
    assert counts.tolist() == [2, 1, 1, 1]


def test_a_column_that_arrives_all_null_is_the_largest_drift() -> None:
    reference = np.random.default_rng(1).normal(size=1000)
    nulls = np.full(500, np.nan)
    assert population_stability_index(reference, nulls) > 5
    assert band(population_stability_index(reference, nulls)) == "act"


def test_csi_by_hand_with_an_unseen_category_and_missing_values() -> None:
    reference = ["a"] * 6 + ["b"] * 4
    current = ["a"] * 4 + ["b"] * 2 + ["c"] * 2 + [None] * 2
    e = np.maximum(np.array([0.6, 0.4, 0.0, 0.0]), 1e-4)  # a, b, c (unseen), missing
    a = np.array([0.4, 0.2, 0.2, 0.2])
    by_hand = float(np.sum((a - e) * np.log(a / e)))
    assert characteristic_stability_index(reference, current) == pytest.approx(by_hand, rel=1e-12)
    assert characteristic_stability_index(reference, list(reference)) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"), [(0.0, "stable"), (0.0999, "stable"), (0.1, "watch"), (0.25, "watch")]
)
def test_bands(value: float, expected: str) -> None:
    assert band(value) == expected
    assert band(0.2501) == "act"


def test_feature_drift_takes_psi_for_numbers_and_csi_for_categories() -> None:
    rng = np.random.default_rng(3)
    reference = pd.DataFrame(
        {"tenure": rng.integers(0, 72, 2000), "contract": rng.choice(["m", "1y", "2y"], 2000)}
    )
    current = pd.DataFrame(
        {"tenure": rng.integers(0, 72, 800), "contract": rng.choice(["m", "2y"], 800)}
    )
    found = {d.feature: d for d in feature_drift(reference, current)}
    assert found["tenure"].statistic == "PSI" and found["tenure"].band == "stable"
    assert found["contract"].statistic == "CSI" and found["contract"].band == "act"
    assert found["contract"] == FeatureDrift(
        "contract",
        "CSI",
        characteristic_stability_index(reference["contract"], current["contract"]),
    )


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        stability_index(np.array([1, 2]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="same length"):
        stability_index(np.array([0, 0]), np.array([1, 2]))
