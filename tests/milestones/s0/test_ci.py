"""s0.ci: the CI steps counted on this checkout, and a broken workflow detected."""

from __future__ import annotations

from pathlib import Path

from ai_roadmap.config import compose
from ai_roadmap.milestones.s0 import ci


def test_workflow_check_needs_lint_and_test_steps(tmp_path: Path) -> None:
    assert ci.workflow_ok(tmp_path)[0] is False  # no workflow at all
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text("jobs:\n  a:\n    steps:\n      - run: make lint\n")
    ok, detail = ci.workflow_ok(tmp_path)
    assert ok is False and "test step: False" in detail
    (workflows / "ci.yml").write_text(
        "jobs:\n  a:\n    steps:\n      - run: make lint\n      - run: make test\n"
    )
    assert ci.workflow_ok(tmp_path)[0] is True


def test_ci_smoke_run_counts_steps(roadmap_home: Path, tmp_path: Path) -> None:
    cfg = compose("s0.ci", "smoke")
    cfg.output_dir = str(tmp_path)
    result = ci.run(cfg)
    assert ci.source_root() is not None
    assert result.metrics["ci_steps_passed"] + result.metrics["ci_steps_failed"] == 3
    assert (tmp_path / "ci_steps.txt").read_text().count("\n") == 3
    # this very checkout's workflow has its lint and test steps
    assert "workflow: pass" in (tmp_path / "ci_steps.txt").read_text()
