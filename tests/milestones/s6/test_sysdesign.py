"""s6.sysdesign at smoke scale through the runner, and its one-line configuration errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.artifacts import read_card
from ai_roadmap.datasets.flights import load_flights
from ai_roadmap.errors import UsageError
from ai_roadmap.runner import run_milestone
from ai_roadmap.serving.export import export_champions
from ai_roadmap.settings import get_settings
from ai_roadmap.sysdesign import eta as E

pytestmark = [pytest.mark.data, pytest.mark.slow]


def test_smoke_run_through_the_runner(roadmap_home: Path) -> None:
    report = run_milestone("s6.sysdesign", "smoke")
    m = report.metrics
    assert not report.proxy
    # the verdict follows the counted checks, and the reference checks pass
    assert report.verdict == ("pass" if m["checks_failed"] == 0 else "fail")
    assert m["checks_passed"] + m["checks_failed"] == 8
    assert m["err_eta_served_model_matches"] <= 1e-9
    assert 0.0 <= m["eta_coverage80_rolling"] <= 1.0
    assert m["err_svd_vs_numpy"] < 1e-6 and m["err_ndcg_vs_sklearn"] < 1e-9
    assert m["err_ann_vs_exact"] <= 0.1
    # recall grows with K for every retriever; the ranker only re-orders the candidates
    for name in ("popularity", "pure_svd", "tower_exact", "tower_ivf"):
        values = [m[f"recall_at_{k}_{name}"] for k in (10, 50, 100, 200)]
        assert all(0 <= a <= b <= 1 for a, b in itertools.pairwise(values)), name
    assert m["ann_items_scored_per_query"] < m["recsys_items"] / 2
    assert m["recsys_users"] == 200
    # the schedule-only baseline, recomputed from the raw table: mean |arrival delay| Oct–Dec
    flights = load_flights()
    late = flights[flights["month"] >= 10].dropna(subset=["arr_delay"])
    assert m["eta_test_flights"] == len(late)
    assert m["eta_mae_schedule"] == pytest.approx(np.abs(late["arr_delay"]).mean())
    assert m["eta_rmse_schedule"] == pytest.approx(np.sqrt((late["arr_delay"] ** 2).mean()))
    assert m["eta_width80_conformal"] == pytest.approx(
        m["eta_width80_raw"] + 2 * m["eta_conformal_margin"]
    )
    assert m["eta_share_below_q0.1"] < m["eta_share_below_q0.5"] < m["eta_share_below_q0.9"]
    names = {Path(a).name for a in report.artifacts}
    assert {"recall_at_k.png", "eta_calibration.png", "checks.csv"} <= names
    # the ETA model is registered, and `roadmap serve --models eta` exports it
    settings = get_settings()
    versions = export_champions(settings, ["eta"])
    card = read_card(settings.model_dir / "eta")
    assert versions == {"eta": "1"} and card.name == "s6.sysdesign" and card.task == "regression"
    assert list(card.input_schema) == E.REQUEST


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("eta.test_months=[3]", "forward in time"),
        ("recsys.nprobe=100", "nprobe"),
    ],
)
def test_bad_configuration_is_one_line(roadmap_home: Path, override: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        run_milestone("s6.sysdesign", "smoke", [override])
