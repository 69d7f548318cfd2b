"""Monte Carlo of Spot interruptions against the autoscaler's replacement time.

Each Spot node slot ``k`` exists in hour ``h`` when the plan needs more than ``k`` Spot nodes
then. Interruptions reach a live node as a Poisson process of rate ``λ`` per node-hour
(the Spot Instance Advisor's monthly band / 730 h). At an interruption at time ``t``:

* the 2-minute notice starts: the node keeps serving until ``t + notice`` (the serving
  pods' PodDisruptionBudget holds their eviction while replicas are short), and the
  termination handler cordons it, so the pending replacement pod makes the autoscaler buy a
  node at once;
* the replacement serves from ``t + replacement`` (node provisioning + pod start), so the
  slot is missing for ``d = (replacement − notice)⁺`` seconds;
* a slot that is being replaced takes no second interruption (its node is gone; the new
  node's clock starts fresh — exact for a memoryless process).

Over a month the grid (``step_s`` seconds) counts live nodes; a step serves
``min(load, live · capacity)`` of its ``load`` requests/s. Availability is the share of the
month's requests served (request-weighted). With one node, a constant load it alone can
carry and no baseline, the slot alternates ``Exp(1/λ)`` up and ``replacement`` in
replacement, so the expected share lost is the renewal-reward ratio::

    lost = d / (1/λ + replacement)  ≈ λ · d  for λ · replacement ≪ 1

which the tests check the simulator against. Interruptions of different nodes are
independent here; a real reclaim can take several nodes of one pool at once, which is why
the node group spreads over several instance types.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOUR_S = 3600.0


@dataclass(frozen=True)
class Interruptions:
    """Spot interruption process and the time a replacement takes."""

    rate_per_node_hour: float  # λ
    notice_s: float = 120.0  # AWS's interruption notice
    replacement_s: float = 270.0  # autoscaler node provisioning + pod start
    step_s: float = 10.0  # simulation grid


@dataclass(frozen=True)
class MonthOutcome:
    """One simulated month."""

    availability: float  # share of requests served
    interruptions: int
    short_minutes: float  # minutes with less capacity than load


def simulate_month(
    hourly_spot: np.ndarray,
    hourly_baseline: np.ndarray,
    hourly_load: np.ndarray,
    capacity_rps: float,
    spec: Interruptions,
    rng: np.random.Generator,
) -> MonthOutcome:
    """One month of hours (arrays of equal length, one value per hour)."""
    hours = len(hourly_load)
    steps = round(hours * HOUR_S / spec.step_s)
    hour_of_step = (np.arange(steps) * spec.step_s // HOUR_S).astype(int)
    live = (hourly_baseline + hourly_spot)[hour_of_step].astype(float)
    count = 0
    for slot in range(int(hourly_spot.max(initial=0))):
        needed = hourly_spot > slot  # (hours,)
        missing, n = _slot_missing(needed, steps, spec, rng)
        live -= missing & needed[hour_of_step]
        count += n
    load = hourly_load[hour_of_step]
    served = np.minimum(load, np.maximum(live, 0.0) * capacity_rps)
    total = float(load.sum())
    short = float((served < load).sum()) * spec.step_s / 60.0
    return MonthOutcome(1.0 if total == 0 else float(served.sum()) / total, count, short)


def _slot_missing(
    needed: np.ndarray, steps: int, spec: Interruptions, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """(bool per step: the slot's node is gone, interruptions that reached a live node)."""
    span = len(needed) * HOUR_S
    times = np.sort(rng.uniform(0.0, span, rng.poisson(spec.rate_per_node_hour * len(needed))))
    diff = np.zeros(steps + 1, dtype=np.int64)
    busy_until, count = -1.0, 0
    for t in times:
        if t < busy_until or not needed[int(t // HOUR_S)]:
            continue  # the node is already being replaced, or the slot has no node now
        count += 1
        busy_until = t + max(spec.replacement_s, spec.notice_s)
        if spec.replacement_s > spec.notice_s:
            start = min(steps, int(np.ceil((t + spec.notice_s) / spec.step_s)))
            end = min(steps, int(np.ceil((t + spec.replacement_s) / spec.step_s)))
            diff[start] += 1
            diff[end] -= 1
    return np.cumsum(diff[:steps]) > 0, count


@dataclass(frozen=True)
class Availability:
    """Monte Carlo summary over simulated months."""

    months: int
    mean: float  # mean over months of the share of requests served
    worst: float  # the worst month
    p05: float  # 5th percentile month
    interruptions_per_month: float
    short_minutes_per_month: float


def monte_carlo(
    daily_spot: list[int],
    daily_baseline: list[int],
    daily_load: list[float],
    capacity_rps: float,
    spec: Interruptions,
    months: int,
    seed: int,
    hours_per_month: int = 730,
) -> Availability:
    """``months`` seeded months of a 24-hour plan repeated over ``hours_per_month`` hours."""
    tile = np.arange(hours_per_month) % 24
    spot = np.asarray(daily_spot)[tile]
    base = np.asarray(daily_baseline)[tile]
    load = np.asarray(daily_load, dtype=float)[tile]
    rng = np.random.default_rng(seed)
    runs = [simulate_month(spot, base, load, capacity_rps, spec, rng) for _ in range(months)]
    share = np.array([r.availability for r in runs])
    return Availability(
        months=months,
        mean=float(share.mean()),
        worst=float(share.min()),
        p05=float(np.percentile(share, 5)),
        interruptions_per_month=float(np.mean([r.interruptions for r in runs])),
        short_minutes_per_month=float(np.mean([r.short_minutes for r in runs])),
    )
