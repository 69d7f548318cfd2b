"""The timeline: the seed's stage durations scaled to a learner's weekly hours.

The seed gives stage durations (3 days, 3 weeks, …) for its part-time pace of
about ``catalog.hours_per_week`` hours a week, so a stage needs
``weeks × hours_per_week`` hours; at ``H`` hours a week it takes
``weeks × hours_per_week / H`` weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ai_roadmap.catalog import Catalog, Stage


@dataclass(frozen=True)
class PlanRow:
    stage: Stage
    hours: float
    weeks: float
    end: date


def schedule(catalog: Catalog, hours_per_week: float, start: date) -> list[PlanRow]:
    """Consecutive stages from ``start``; each ends after its scaled number of weeks."""
    if hours_per_week <= 0:
        raise ValueError("hours_per_week must be positive")
    rows, cursor = [], start
    for stage in catalog.stages:
        hours = stage.weeks * catalog.hours_per_week
        weeks = hours / hours_per_week
        cursor = cursor + timedelta(days=round(weeks * 7))
        rows.append(PlanRow(stage, hours, weeks, cursor))
    return rows
