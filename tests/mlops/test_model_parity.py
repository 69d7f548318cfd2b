"""The comparison of the two roads to a model counts only answered rows and sees a flip."""

from __future__ import annotations

import numpy as np

from ai_roadmap.mlops.model_parity import compare


def test_compare_skips_refused_rows_and_counts_label_flips() -> None:
    served = np.array([0.2, np.nan, 0.6, 0.49])
    answered = np.array([True, False, True, True])
    by_uri = np.array([0.2, 0.9, 0.6, 0.51])  # the refused row's value is never looked at
    diff, flips = compare(served, answered, by_uri)
    assert diff == np.float64(0.51) - np.float64(0.49) and flips == 1
    assert compare(served, np.zeros(4, dtype=bool), by_uri) == (float("inf"), 0)
