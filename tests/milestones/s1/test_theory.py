"""s1.theory end to end at the smoke scale: every check passes and the artefacts exist."""

from __future__ import annotations

import csv
from pathlib import Path

from ai_roadmap.config import compose
from ai_roadmap.milestones.s1.theory import run

CHECKS = {
    "matrix_grad",
    "gaussian_mle",
    "beta_binomial",
    "kl_univariate",
    "kl_multivariate",
    "gd_rate",
    "gd_divergence",
    "adam_torch",
    "svm_dual",
}


def test_theory_smoke_run(roadmap_home: Path, tmp_path: Path) -> None:
    import torch  # noqa: F401  (torch is a dependency; the Adam check needs it)

    cfg = compose("s1.theory", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = run(cfg)

    assert result.metrics["checks_failed"] == 0, result.notes
    assert result.metrics["checks_passed"] == len(CHECKS)
    assert {f"err_{name}" for name in CHECKS} <= set(result.metrics)
    assert result.dataset == "synthetic (seeded)"
    assert result.proxy is False

    table = Path(result.artifacts["theory_checks.csv"])
    rows = list(csv.DictReader(table.open(encoding="utf-8")))
    assert {row["check"] for row in rows} == CHECKS
    assert all(row["passed"] == "True" for row in rows)
    assert all(float(row["error"]) <= float(row["tolerance"]) for row in rows)

    plot = Path(result.artifacts["gd_convergence.png"])
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.parent == Path(cfg.output_dir)
