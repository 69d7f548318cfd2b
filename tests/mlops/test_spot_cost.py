"""The cost model against a hand computation, and the price book's one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap.errors import RoadmapError
from ai_roadmap.mlops.spot_cost import Fleet, fleet_prices, load_prices, monthly_costs, nodes_for


def test_monthly_costs_match_a_hand_computation() -> None:
    # 12 quiet hours (0 requests/s) and 12 busy ones (1 200/s); 1 000/s per node at ≤ 60 %:
    # quiet hours keep min_nodes = 1, busy hours need ceil(1200 / 600) = 2; peak 2.
    load = [0.0] * 12 + [1200.0] * 12
    fleet = Fleet(capacity_rps=1000.0, utilisation=0.6, min_nodes=1, on_demand_baseline=1)
    got = monthly_costs(load, fleet, on_demand_usd_h=1.0, spot_usd_h=0.25)
    # on-demand: 2 nodes × $1 × 730 h = $1 460
    assert got.on_demand_nodes == 2
    assert got.on_demand_usd_month == pytest.approx(1460.0)
    # Spot plan, one day: 12 h × (1 on-demand) + 12 h × (1 on-demand + 1 Spot × 0.25) = $27;
    # a 730-hour month is 730 / 24 days: $821.25; saving 1 - 821.25 / 1460 = 43.75 %
    assert got.hourly_nodes == [1] * 12 + [2] * 12
    assert got.hourly_spot_nodes == [0] * 12 + [1] * 12
    assert got.spot_usd_month == pytest.approx(821.25)
    assert got.saving_pct == pytest.approx(43.75)


def test_no_baseline_and_flat_load_saves_exactly_the_spot_discount() -> None:
    fleet = Fleet(capacity_rps=100.0, utilisation=1.0, min_nodes=1, on_demand_baseline=0)
    got = monthly_costs([250.0] * 24, fleet, on_demand_usd_h=0.8, spot_usd_h=0.2)
    assert got.on_demand_nodes == 3 and got.hourly_nodes == [3] * 24
    assert got.saving_pct == pytest.approx(75.0)


def test_nodes_for_rounds_up_but_not_float_noise() -> None:
    assert nodes_for(600.0, 1000.0, 0.6, 1) == 1
    assert nodes_for(600.1, 1000.0, 0.6, 1) == 2
    assert nodes_for(0.0, 1000.0, 0.6, 2) == 2


def test_the_packaged_snapshot_names_its_sources_and_prices_every_type() -> None:
    book = load_prices()
    assert book.sources["on_demand"].startswith("https://aws.amazon.com/")
    assert book.sources["spot"].startswith("https://aws.amazon.com/")
    assert book.as_of
    for item in book.instances.values():
        assert 0 < item.spot_usd_h < item.on_demand_usd_h
        assert 0 < item.interruptions_per_month <= 0.3
    od, spot, rate = fleet_prices(book, ["g4dn.xlarge", "g5.xlarge"])
    assert rate == pytest.approx(0.10)  # both in the 5-10 % band
    g4, g5 = book.instances["g4dn.xlarge"], book.instances["g5.xlarge"]
    assert od == min(g4.on_demand_usd_h, g5.on_demand_usd_h)
    assert spot == pytest.approx((g4.spot_usd_h + g5.spot_usd_h) / 2)


def test_an_unknown_type_or_a_broken_price_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(RoadmapError, match="choose among"):
        fleet_prices(load_prices(), ["p5.48xlarge"])
    bad = tmp_path / "prices.yaml"
    bad.write_text("region: x\ninstances: {}\n")
    with pytest.raises(RoadmapError, match="not a valid price book"):
        load_prices(bad)
    with pytest.raises(RoadmapError, match="does not exist"):
        load_prices(tmp_path / "missing.yaml")
