"""The Spot interruption Monte Carlo against the renewal formula and its limiting cases."""

from __future__ import annotations

import pytest

from ai_roadmap.mlops.spot_interruptions import Interruptions, monte_carlo


def test_one_node_loses_the_renewal_share() -> None:
    # One node, a load only it can carry: up Exp(1/λ), then `replacement` seconds being
    # replaced, of which (replacement - notice) with no node at all.
    rate_h, notice, replacement = 1.0, 120.0, 420.0
    spec = Interruptions(rate_h, notice, replacement, step_s=5.0)
    got = monte_carlo([1] * 24, [0] * 24, [5.0] * 24, 5.0, spec, months=20, seed=3)
    expected = (replacement - notice) / (3600.0 / rate_h + replacement)  # ≈ 0.0744
    assert 1.0 - got.mean == pytest.approx(expected, rel=0.05)
    # interruptions per month ≈ 730 h / (1/λ + replacement) cycles
    assert got.interruptions_per_month == pytest.approx(730 / (1 + replacement / 3600), rel=0.05)


def test_small_rate_downtime_is_rate_times_gap() -> None:
    # λ · replacement ≪ 1: lost share ≈ λ · (replacement - notice)
    spec = Interruptions(0.05, 120.0, 300.0, step_s=5.0)
    got = monte_carlo([1] * 24, [0] * 24, [1.0] * 24, 1.0, spec, months=30, seed=0)
    assert 1.0 - got.mean == pytest.approx(0.05 * 180.0 / 3600.0, rel=0.15)


def test_a_notice_longer_than_the_replacement_loses_nothing() -> None:
    spec = Interruptions(1.0, 120.0, 100.0)
    got = monte_carlo([1] * 24, [0] * 24, [1.0] * 24, 1.0, spec, months=2, seed=0)
    assert got.interruptions_per_month > 100 and got.mean == 1.0


def test_headroom_and_the_baseline_absorb_a_lost_node() -> None:
    spec = Interruptions(1.0, 120.0, 420.0)
    # 1 Spot + 1 on-demand node of 10 req/s each for 10 req/s: the Spot node is spare
    spare = monte_carlo([1] * 24, [1] * 24, [10.0] * 24, 10.0, spec, months=2, seed=0)
    assert spare.mean == 1.0 and spare.interruptions_per_month > 100
    # two Spot nodes for 20 req/s: a lost node leaves 10, both lost leave none
    tight = monte_carlo([2] * 24, [0] * 24, [20.0] * 24, 10.0, spec, months=2, seed=0)
    assert tight.mean < 1.0 and tight.short_minutes_per_month > 0
    one = monte_carlo([1] * 24, [0] * 24, [10.0] * 24, 10.0, spec, months=2, seed=0)
    # each node missing the renewal share: half the capacity lost per missing node
    assert 1.0 - tight.mean == pytest.approx(1.0 - one.mean, rel=0.15)


def test_no_interruptions_means_full_availability_and_the_seed_repeats() -> None:
    quiet = monte_carlo([3] * 24, [0] * 24, [30.0] * 24, 10.0, Interruptions(0.0), 2, 0)
    assert quiet.mean == 1.0 and quiet.interruptions_per_month == 0
    spec = Interruptions(0.5, 120.0, 400.0)
    a = monte_carlo([1] * 24, [0] * 24, [1.0] * 24, 1.0, spec, 3, seed=7)
    b = monte_carlo([1] * 24, [0] * 24, [1.0] * 24, 1.0, spec, 3, seed=7)
    assert a == b
