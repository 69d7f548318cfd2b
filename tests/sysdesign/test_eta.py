"""ETA features: no look-ahead columns, clock arithmetic, baselines, category encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ai_roadmap.sysdesign import eta as E

FLIGHTS = pd.DataFrame(
    {
        "year": [2013] * 4,
        "month": [1, 1, 2, 10],
        "day": [1, 2, 3, 4],
        "dep_time": [517.0, np.nan, 600.0, 2359.0],
        "sched_dep_time": [515, 530, 600, 2350],
        "dep_delay": [2.0, np.nan, 0.0, 9.0],
        "arr_time": [830.0, np.nan, 900.0, 120.0],
        "sched_arr_time": [819, 830, 910, 115],
        "arr_delay": [11.0, np.nan, -10.0, 5.0],
        "carrier": ["UA", "AA", "UA", "B6"],
        "flight": [1, 2, 3, 4],
        "tailnum": ["N1", "N2", "N3", "N4"],
        "origin": ["EWR", "LGA", "EWR", "JFK"],
        "dest": ["IAH", "MIA", "IAH", "BOS"],
        "air_time": [227.0, np.nan, 200.0, 40.0],
        "distance": [1400, 1096, 1400, 187],
        "hour": [5, 5, 6, 23],
        "minute": [15, 30, 0, 50],
        "time_hour": ["x"] * 4,
    }
)


def test_features_use_the_timetable_only() -> None:
    table = E.schedule_features(FLIGHTS)
    assert len(table) == 3  # the cancelled flight has no arrival delay
    assert not set(E.LEAKS) & set(table.columns)
    assert set(E.NUMERIC + E.CATEGORICAL + [E.TARGET]) <= set(table.columns)
    assert table["sched_dep_min"].tolist() == [315, 360, 1430]
    assert table["block_min"].tolist() == [184, 190, 85]  # 23:50 → 01:15 across midnight
    assert table["weekday"].tolist() == [1, 6, 4]  # 2013-01-01 was a Tuesday
    assert table["route"].tolist() == ["EWR-IAH", "EWR-IAH", "JFK-BOS"]


def test_route_baseline_and_unseen_levels() -> None:
    table = E.schedule_features(FLIGHTS)
    split = E.month_split(table, [1, 2], [], [10])
    assert len(split.train) == 2 and len(split.calib) == 0 and len(split.test) == 1
    pred = E.baseline_predict(split.train, split.test, 0.5)
    assert pred.tolist() == [pytest.approx(0.5)]  # JFK-BOS unseen: the global median of 11, −10
    levels = {c: sorted(split.train[c].unique()) for c in E.CATEGORICAL}
    x = E.encode(split.test, levels)
    assert x["dest"].isna().all() and x["carrier"].isna().all()
    assert E.mae(np.array([1.0, -1.0]), np.zeros(2)) == 1.0
    assert E.rmse(np.array([3.0, -4.0]), np.zeros(2)) == pytest.approx(np.sqrt(12.5))
