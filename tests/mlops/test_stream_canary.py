"""The stream canary's rule and its rollback figures, on hand-made arms and a hand-made store."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap.mlops.stream_canary import CanaryRule, judge, rollback_figures
from ai_roadmap.mlops.stream_replay import arm_accuracy, exactly_once_figures
from ai_roadmap.mlops.stream_scoring import open_store
from ai_roadmap.serving.canary import goes_to_challenger

RULE = CanaryRule(share=0.3, min_labelled=10, margin=0.1)


def _arms(champ: tuple[float, float], chall: tuple[float, float]) -> dict:
    return {
        "1": {"n": champ[0], "accuracy": champ[1], "role": "champion"},
        "2": {"n": chall[0], "accuracy": chall[1], "role": "challenger"},
    }


def test_judge_waits_for_labels_and_allows_the_margin() -> None:
    assert judge(_arms((50, 0.8), (9, 0.1)), "1", "2", RULE) == ""  # too few labels yet
    assert judge(_arms((50, 0.8), (10, 0.71)), "1", "2", RULE) == ""  # within the margin
    why = judge(_arms((50, 0.8), (10, 0.69)), "1", "2", RULE)
    assert "challenger v2 0.690" in why and "champion v1 0.800" in why
    assert judge({"1": _arms((50, 0.8), (1, 0))["1"]}, "1", "2", RULE) == ""


@pytest.mark.parametrize("share", [0.0, 1.0, 1.5])
def test_a_share_outside_zero_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match=r"canary\.share"):
        CanaryRule(share=share)


def test_rollback_figures_from_a_store(tmp_path: Path) -> None:
    db = open_store(tmp_path / "s.db")
    keys = [f"u{i}" for i in range(40)]
    canary = [k for k in keys if goes_to_challenger(k, "v2", 0.3)]
    rest = [k for k in keys if k not in canary]
    rows = [  # id, key, version, role, predicted, confidence, event, scored, member, pid
        ("a", canary[0], "2", "challenger", 0, 0.5, 0, 1_000, "m", 7),
        ("b", canary[1], "2", "challenger", 1, 0.5, 0, 2_500, "m", 7),  # in flight at the verdict
        ("c", canary[0], "1", "champion", 1, 0.5, 0, 3_000, "m", 7),  # back on the champion
        ("d", rest[0], "1", "champion", 1, 0.5, 0, 1_500, "m", 8),
    ]
    db.executemany("INSERT INTO predictions VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    figures = rollback_figures(db, "2", 2_000, "v2", 0.3)
    assert figures["rollback_seconds"] == pytest.approx(0.5)
    assert figures["rollback_pickup_s"] == pytest.approx(1.0)
    assert figures["bad_after_detection"] == 1 and figures["bad_predictions"] == 2
    assert figures["members_switched_without_restart"] == 1
    arms = arm_accuracy(db, {"a": 0, "b": 0, "c": 1})
    assert arms["2"]["accuracy"] == 0.5 and arms["1"] == {
        "n": 1.0, "correct": 1.0, "role": "champion", "accuracy": 1.0,
    }  # fmt: skip
    once = exactly_once_figures(db, ["a", "b", "c", "d", "e"])
    assert once["missing"] == 1 and once["duplicates_store"] == 0 and once["rows_stored"] == 4
