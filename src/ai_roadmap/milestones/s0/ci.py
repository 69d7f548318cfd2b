"""s0.ci — the stage-0 milestone "CI with lint + unit tests", run locally.

The roadmap asks for the notebook turned into a package with Hydra configs and
a GitHub Actions workflow that runs lint and unit tests. This project is that
package; this milestone runs the same steps the workflow runs
(``.github/workflows/ci.yml``) on the source checkout and counts what passes:

1. the workflow file exists and has a lint step and a test step;
2. ``ruff check`` is clean;
3. the unit tests pass (``smoke``: the catalog tests; ``quick``: every test not marked ``slow``
   or ``data``; ``full``: the whole suite).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from omegaconf import DictConfig

from ai_roadmap.config import typed
from ai_roadmap.result import Result


@dataclass(frozen=True)
class Config:
    """``conf/s0.ci``: what ``ruff check`` and ``pytest`` are run on."""

    lint_paths: tuple[str, ...]
    test_paths: tuple[str, ...]
    test_markers: str | None = None  # a pytest ``-m`` expression; None runs every test
    seed: int = 0  # the runner seeds every run; nothing here is random


def source_root() -> Path | None:
    """The checkout this package runs from (editable install), or None for a wheel install."""
    root = Path(__file__).resolve().parents[4]  # src/ai_roadmap/milestones/s0/ci.py
    return root if (root / "pyproject.toml").exists() and (root / "tests").is_dir() else None


def workflow_ok(root: Path) -> tuple[bool, str]:
    path = root / ".github" / "workflows" / "ci.yml"
    if not path.exists():
        return False, f"{path} is missing"
    steps = [
        str(step.get("run", ""))
        for job in (yaml.safe_load(path.read_text()) or {}).get("jobs", {}).values()
        for step in job.get("steps", [])
    ]
    has_lint = any("lint" in s or "ruff" in s for s in steps)
    has_test = any("test" in s or "pytest" in s for s in steps)
    return has_lint and has_test, f"lint step: {has_lint}, test step: {has_test}"


def _step(command: list[str], root: Path) -> tuple[bool, float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
    return done.returncode == 0, time.perf_counter() - started, tail[0]


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    root = source_root()
    if root is None:
        return Result(metrics={}, dataset="none", not_measured="needs the source checkout")
    ok, detail = workflow_ok(root)
    outcomes = {"workflow": (ok, 0.0, detail)}
    outcomes["lint"] = _step([sys.executable, "-m", "ruff", "check", *c.lint_paths], root)
    outcomes["unit_tests"] = _step(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *(["-m", c.test_markers] if c.test_markers else []),
            *c.test_paths,
        ],
        root,
    )
    passed = sum(ok for ok, _, _ in outcomes.values())
    metrics = {"ci_steps_passed": float(passed), "ci_steps_failed": float(len(outcomes) - passed)}
    metrics.update({f"{name}_s": round(took, 2) for name, (_, took, _) in outcomes.items()})
    report = out / "ci_steps.txt"
    report.write_text(
        "".join(f"{n}: {'pass' if ok else 'FAIL'} ({d})\n" for n, (ok, _, d) in outcomes.items())
    )
    notes = [f"{n}: {d}" for n, (ok, _, d) in outcomes.items() if not ok]
    return Result(
        metrics,
        dataset="none (this project's own source)",
        artifacts={"ci_steps.txt": report},
        notes=notes,
    )
