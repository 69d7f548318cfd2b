"""s5.infra at smoke through the runner: the infra/ checks pass, the cost figures agree with
the price book and the formulas, the availability figures are in range; and the one-line
errors for a missing infra folder and a bad setting."""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.mlops.spot_cost import HOURS_PER_MONTH, load_prices
from ai_roadmap.runner import run_milestone

# the smoke scale's inputs (conf/s5.infra): one type, the default profile and fleet
LOAD = [1800, 1200, 800, 600, 600, 800, 1200, 2000, 2800, 3200, 3400, 3600]
LOAD += [3800, 3600, 3400, 3400, 3600, 4000, 4600, 5400, 6000, 5800, 4600, 3000]


def test_smoke_checks_infra_and_computes_the_saving(roadmap_home: Path) -> None:
    report = run_milestone("s5.infra", "smoke")
    m = report.metrics
    assert m["checks_failed"] == 0, [n for n in report.notes if n.startswith("FAIL")]
    assert m["checks"] >= 10  # fmt, 8 manifests, node-group types, simulator self-check
    # the cost figures from the price book by hand: g4dn.xlarge, 1 000 req/s at ≤ 60 %,
    # at least 2 nodes, 1 on-demand
    g4 = load_prices().instances["g4dn.xlarge"]
    nodes = [max(2, math.ceil(x / 600)) for x in LOAD]
    assert m["on_demand_nodes"] == max(nodes) == 10
    od_month = 10 * g4.on_demand_usd_h * HOURS_PER_MONTH
    spot_day = sum(g4.on_demand_usd_h + (n - 1) * g4.spot_usd_h for n in nodes)
    spot_month = spot_day * HOURS_PER_MONTH / 24
    assert m["on_demand_usd_month"] == pytest.approx(od_month)
    assert m["spot_autoscaled_usd_month"] == pytest.approx(spot_month)
    assert m["spot_cost_saving_pct"] == pytest.approx(100 * (1 - spot_month / od_month))
    # the packaged prices were never read from AWS on a stated day: no verdict on them
    assert report.verdict == "not measured" and report.proxy
    assert "prices NOT read from AWS" in report.dataset
    assert m["saving_spot_price_only_pct"] == pytest.approx(
        100 * (1 - g4.spot_usd_h / g4.on_demand_usd_h)
    )
    assert m["interruptions_per_node_month"] == g4.interruptions_per_month
    for key in ("availability_pct", "availability_stress_pct", "availability_tight_stress_pct"):
        assert 99.0 <= m[key] <= 100.0
    assert m["availability_tight_stress_pct"] <= m["availability_stress_pct"]
    assert any(n.startswith("a MODEL, not a measurement") for n in report.notes)
    assert any("snapshot" in n and "not live" in n for n in report.notes)
    assert any("pass simulator_matches_renewal_formula" in n for n in report.notes)
    assert {"infra.json", "infra.md", "infra.png"} <= set(report.artifacts)


def test_a_missing_infra_folder_names_the_fix(roadmap_home: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "s5.infra", "--scale", "smoke", f"infra_dir={tmp_path / 'nowhere'}"]
    )
    assert result.exit_code == 1
    assert "pip install -e ." in result.output and "infra_dir=" in result.output
    assert "Traceback" not in result.output


def test_a_bad_setting_is_a_usage_error(roadmap_home: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "s5.infra", "--scale", "smoke", "fleet.utilisation=1.5"]
    )
    assert result.exit_code == 2
    assert "fleet.utilisation" in result.output and "Traceback" not in result.output


def test_prices_read_on_a_stated_day_are_judged_against_the_bar(
    roadmap_home: Path, tmp_path: Path
) -> None:
    import yaml

    from ai_roadmap.mlops.spot_cost import PRICE_FILE

    packaged = resources.files("ai_roadmap.mlops").joinpath("data", PRICE_FILE).read_text()
    book = yaml.safe_load(packaged)
    book["read_on"] = "2026-12-06"
    path = tmp_path / "prices.yaml"
    path.write_text(yaml.safe_dump(book))
    report = run_milestone("s5.infra", "smoke", [f"prices_file={path}"])
    saving = report.metrics["spot_cost_saving_pct"]
    assert not report.proxy and report.verdict == ("pass" if saving >= 60 else "fail")
    # a spot price raised to the on-demand one leaves only the autoscaling saving: under the bar
    for item in book["instances"].values():
        item["spot_usd_h"] = item["on_demand_usd_h"]
    path.write_text(yaml.safe_dump(book))
    worse = run_milestone("s5.infra", "smoke", [f"prices_file={path}"])
    assert worse.metrics["spot_cost_saving_pct"] < 60 and worse.verdict == "fail"
