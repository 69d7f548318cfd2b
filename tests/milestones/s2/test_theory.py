"""s2.theory end to end at the smoke scale: every check passes and the artefacts exist."""

from __future__ import annotations

import csv
from pathlib import Path

from ai_roadmap.config import compose
from ai_roadmap.milestones.s2.theory import CHECK_NAMES, run

PNG = b"\x89PNG\r\n\x1a\n"
PLOTS = (
    "bias_variance.png",
    "regularisation_paths.png",
    "rff_convergence.png",
    "ensembles_vs_estimators.png",
)


def test_s2_theory_smoke_run(roadmap_home: Path, tmp_path: Path) -> None:
    cfg = compose("s2.theory", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = run(cfg)

    assert result.metrics["checks_failed"] == 0, result.notes
    assert result.metrics["checks_passed"] == len(CHECK_NAMES) == 12
    assert {f"err_{name}" for name in CHECK_NAMES} <= set(result.metrics)
    assert result.dataset == "synthetic (seeded)"
    assert result.proxy is False
    assert len(result.notes) == len(CHECK_NAMES)
    assert all(note.startswith("pass ") for note in result.notes)

    table = Path(result.artifacts["checks.csv"])
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert [row["check"] for row in rows] == list(CHECK_NAMES)
    assert all(row["passed"] == "True" for row in rows)
    assert all(float(row["error"]) <= float(row["tolerance"]) for row in rows)

    for name in PLOTS:
        plot = Path(result.artifacts[name])
        assert plot.parent == Path(cfg.output_dir)
        assert plot.read_bytes()[:8] == PNG
