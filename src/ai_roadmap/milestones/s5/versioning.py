"""s5.versioning — milestones reproduced from versioned data by a real DVC pipeline.

1. A throw-away DVC + Git project (:mod:`ai_roadmap.mlops.dvc_project`) in the run's
   folder: the packaged ``dvc.yaml`` (``pull → prepare → train → evaluate`` per
   milestone), a ``params.yaml`` written from the milestones' own Hydra configs, a
   local directory remote. Every stage runs ``python -m ai_roadmap.mlops.dvc_stages``.
2. ``dvc repro`` builds everything; the state is committed to the project's Git.
3. The checks (``checks_failed`` is the target), each on what ``dvc`` itself reports:

   * ``repro_noop``: a second ``dvc repro`` runs no stage;
   * ``push_pull_roundtrip``: ``dvc push`` to the local remote, delete the cache and the
     workspace copies, ``dvc pull``: every file's sha256 equals the one before;
   * ``tamper_detected``: one byte of a data file changed → ``dvc status`` names that
     output as changed; ``tamper_repaired``: ``dvc repro`` re-runs only its ``pull`` stage
     and the file's sha256 is the original again;
   * ``param_rerun_only_dependents``: one param edited (``change.key``) → ``dvc repro``
     runs exactly ``train@<key>`` and ``evaluate@<key>``;
   * ``params_diff`` / ``metrics_diff``: ``dvc params diff`` shows the edit and ``dvc
     metrics diff`` a changed holdout figure of that milestone.

LakeFS is not run: it needs a lakeFS server, which no registry reachable here provides.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ai_roadmap.config import typed
from ai_roadmap.errors import UsageError
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from ai_roadmap.mlops.dvc_project import DvcProject

T = TypeVar("T")
TRACKED = ("data", "prepared", "models")  # the DVC-cached outputs of the pipeline


@dataclass(frozen=True)
class Change:
    key: str  # a dotted params.yaml key, e.g. titanic.models.logreg.C
    value: float


@dataclass(frozen=True)
class Config:
    seed: int
    milestones: tuple[str, ...]  # reproduced by the pipeline (s0.titanic, s2.house, s2.churn)
    milestone_scale: str  # the scale preset of their Hydra configs written to params.yaml
    holdout: float  # share of each labelled table the evaluate stage scores
    change: Change
    tamper: str  # the milestone whose data file gets one byte changed

    def __post_init__(self) -> None:
        if not self.milestones:
            raise ValueError("milestones must name at least one milestone")
        if self.tamper not in self.milestones:
            raise ValueError(f"tamper must be one of milestones {list(self.milestones)}")
        if not 0 < self.holdout < 1:
            raise ValueError("holdout must be between 0 and 1")


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


class Clock:
    """Wall seconds of each named step, reported as ``<step>_s`` metrics."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, step: str, action: Callable[[], T]) -> T:
        started = time.perf_counter()
        value = action()
        self.seconds[f"{step}_s"] = time.perf_counter() - started
        return value


def _require_data(milestones: tuple[str, ...]) -> None:
    """A one-line error naming ``roadmap data pull`` before any DVC work starts."""
    from ai_roadmap.datasets import require
    from ai_roadmap.mlops.dvc_stages import MILESTONES, RECIPES

    for item in milestones:
        if item not in MILESTONES:
            raise UsageError(
                f"no DVC recipe for {item}; milestones must be among {list(MILESTONES)}"
            )
        require(RECIPES[MILESTONES[item]].dataset)


def tamper_file(path: Path) -> None:
    """Flip the bits of the file's middle byte (same size, different content)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def roundtrip(
    project: DvcProject, clock: Clock, folders: tuple[str, ...] = TRACKED
) -> tuple[Check, dict[str, float]]:
    """push, delete cache + workspace copies, pull; compare every file's sha256."""
    from ai_roadmap.mlops.dvc_project import file_digests, remove_outputs

    before = file_digests(project.root, folders)
    clock("push", lambda: project.run("push"))
    shutil.rmtree(project.root / ".dvc" / "cache")
    remove_outputs(project.root, folders)
    clock("pull", lambda: project.run("pull"))
    after = file_digests(project.root, folders)
    differing = sorted(p for p in before if after.get(p) != before[p])
    size = sum((project.root / p).stat().st_size for p in after)
    passed = bool(before) and not differing and set(after) == set(before)
    detail = (
        f"{len(after)} files ({size} bytes) identical after push / delete / pull"
        if passed
        else f"{len(differing)} of {len(before)} files differ, e.g. {differing[:1]}"
    )
    return Check("push_pull_roundtrip", passed, detail), {
        "roundtrip_files": float(len(after)),
        "roundtrip_bytes": float(size),
    }


def tamper(project: DvcProject, key: str, dataset: str, table: str, clock: Clock) -> list[Check]:
    from ai_roadmap.mlops.dvc_project import changed_outputs
    from ai_roadmap.mlops.lineage import sha256_file

    path = project.root / "data" / dataset / table
    original = sha256_file(path)
    tamper_file(path)
    changed = changed_outputs(clock("status_tampered", lambda: project.json("status")))
    stage, out = f"pull@{key}", f"data/{dataset}"
    seen = out in changed.get(stage, [])
    ran = clock("repro_tampered", project.repro)
    restored = sha256_file(path) == original
    # repaired: the pull stage re-ran or its outputs came back from the run-cache, nothing else
    return [
        Check("tamper_detected", seen, f"dvc status: {changed or 'nothing changed'}"),
        Check(
            "tamper_repaired",
            ran in ([stage], [f"restored:{stage}"]) and restored,
            f"dvc repro ran {ran}; sha256 {'restored' if restored else 'still differs'}",
        ),
    ]


def param_change(
    project: DvcProject, c: Config, clock: Clock
) -> tuple[list[Check], dict[str, float]]:
    from ai_roadmap.mlops.dvc_project import changed_metrics, set_param

    key = c.change.key.split(".")[0]
    old = set_param(project.root / "params.yaml", c.change.key, c.change.value)
    ran = clock("repro_changed", project.repro)
    expected = [f"train@{key}", f"evaluate@{key}"]
    params = clock("params_diff", lambda: project.json("params", "diff"))
    edit = params.get("params.yaml", {}).get(c.change.key, {})
    moved = changed_metrics(clock("metrics_diff", lambda: project.json("metrics", "diff")))
    ours = {k: v for k, v in moved.items() if k.startswith(f"metrics/{key}.json:")}
    checks = [
        Check("param_rerun_only_dependents", sorted(ran) == sorted(expected), f"ran {ran}"),
        Check(
            "params_diff",
            edit.get("old") == old and edit.get("new") == c.change.value,
            f"{c.change.key}: {edit}",
        ),
        Check("metrics_diff", bool(ours), f"changed: {ours or moved or 'nothing'}"),
    ]
    return checks, {f"diff_{k.split(':')[1]}_{key}": v for k, v in ours.items()}


def _holdout_metrics(root: Path, prefix: str = "") -> dict[str, float]:
    import json

    out = {}
    for path in sorted((root / "metrics").glob("*.json")):
        for name, value in json.loads(path.read_text(encoding="utf-8")).items():
            if not (prefix and name == "n_holdout"):  # the split does not change with a param
                out[f"{path.stem}_{name}{prefix}"] = float(value)
    return out


def _write_checks(checks: list[Check], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["check", "passed", "detail"])
        writer.writerows([ch.name, ch.passed, ch.detail] for ch in checks)
    return path


def run(cfg: DictConfig) -> Result:
    from ai_roadmap.mlops import dvc_project
    from ai_roadmap.mlops.dvc_stages import MILESTONES, RECIPES

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    _require_data(c.milestones)
    dvc_project.dvc_executable()
    clock = Clock()
    params = dvc_project.pipeline_params(c.milestones, c.milestone_scale, c.holdout, c.seed)
    root = out / "dvc-project"
    project = clock("init", lambda: dvc_project.create(root, params, out / "dvc-remote"))
    first = clock("repro_first", project.repro)
    project.commit("pipeline reproduced")
    metrics = _holdout_metrics(root)
    noop = clock("repro_second", project.repro)
    checks = [Check("repro_noop", noop == [], f"second dvc repro ran {noop or 'nothing'}")]
    check, figures = roundtrip(project, clock)
    checks.append(check)
    r = RECIPES[MILESTONES[c.tamper]]
    checks += tamper(project, r.key, r.dataset, r.table, clock)
    changed, diffs = param_change(project, c, clock)
    checks += changed
    project.commit(f"{c.change.key} = {c.change.value}")
    return _result(c, project, checks, clock, metrics | figures | diffs, first)


def _result(
    c: Config,
    project: DvcProject,
    checks: list[Check],
    clock: Clock,
    metrics: dict[str, float],
    first: list[str],
) -> Result:
    root = project.root
    version = project.run("--version").stdout.strip()
    failed = [ch for ch in checks if not ch.passed]
    metrics |= {
        "checks_failed": float(len(failed)),
        "checks_total": float(len(checks)),
        "stages": float(len(first)),
    }
    metrics |= _holdout_metrics(root, "_after_change") | clock.seconds
    artifacts = {
        "checks.csv": _write_checks(checks, root.parent / "checks.csv"),
        **{name: root / name for name in ("dvc.yaml", "dvc.lock", "params.yaml")},
    }
    notes = [
        f"dvc {version}: a throw-away DVC + Git project reproduced {', '.join(c.milestones)} "
        f"(their {c.milestone_scale} configs) in {len(first)} stages: {', '.join(first)}",
        *(f"{'PASS' if ch.passed else 'FAIL'} {ch.name}: {ch.detail}" for ch in checks),
        "holdout figures (<key>_<metric>) are the evaluate stages' metrics/<key>.json: "
        f"{c.holdout:g} of each labelled table held out (seed {c.seed}); "
        f"*_after_change after {c.change.key} = {c.change.value:g}",
        "<step>_s: wall seconds of each dvc command (init: git init + dvc init + remote)",
        "LakeFS is not run: it needs a lakeFS server, and none is installable from the "
        "registries this machine reaches; DVC covers versioning here",
    ]
    return Result(
        metrics=metrics,
        dataset="pipeline over " + ", ".join(c.milestones) + " (their pulled datasets)",
        artifacts=artifacts,
        params={"dvc_version": version},
        notes=notes,
    )
