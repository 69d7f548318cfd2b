"""A self-contained DVC project that reproduces roadmap milestones, driven through the real ``dvc``.

:func:`create` writes ``params.yaml`` (the milestones' Hydra configs, the split,
the manifest's sha256 of each dataset's source archives), copies the packaged
``dvc.yaml`` (:mod:`ai_roadmap.mlops.templates`), runs ``git init`` (``dvc
params diff`` / ``metrics diff`` compare against Git revisions), ``dvc init``
and adds a local directory remote. Everything DVC and Git write stays inside the
project: analytics off, ``DVC_SITE_CACHE_DIR`` / ``DVC_GLOBAL_CONFIG_DIR`` /
``DVC_SYSTEM_CONFIG_DIR`` under ``.roadmap/``, no global or system Git config.

Why DVC skips or re-runs a stage: ``dvc.lock`` records the md5 of every
dependency, output and the values of every tracked param; a stage re-runs when
one of them differs from the workspace. So a second ``dvc repro`` runs nothing,
a changed param re-runs only the stages that list it (and those downstream of
an output that changed), and a tampered output shows up as ``changed outs``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ai_roadmap.errors import RoadmapError

RUNNING = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)
# a stage whose deps and params match a run-cache entry gets its outputs checked out instead
RESTORED = re.compile(r"Stage '([^']+)' is cached - skipping run", re.MULTILINE)
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "ai-roadmap",
    "GIT_AUTHOR_EMAIL": "ai-roadmap@localhost",
    "GIT_COMMITTER_NAME": "ai-roadmap",
    "GIT_COMMITTER_EMAIL": "ai-roadmap@localhost",
}


def dvc_executable() -> str:
    """The ``dvc`` beside this Python, else on PATH, else a one-line error with the fix."""
    beside = Path(sys.executable).parent / "dvc"
    found = str(beside) if beside.exists() else shutil.which("dvc")
    if found is None:
        raise RoadmapError(
            "`dvc` is not installed; install the mlops extra: pip install 'ai-roadmap[mlops]'"
        )
    if shutil.which("git") is None:
        raise RoadmapError(
            "`git` is not installed; `dvc params diff` needs it: apt-get install git"
        )
    return found


def template() -> str:
    """The packaged ``dvc.yaml``."""
    return resources.files("ai_roadmap.mlops").joinpath("templates/dvc.yaml").read_text("utf-8")


@dataclass
class DvcProject:
    """A DVC + Git project at ``root`` and the environment its commands run in."""

    root: Path
    dvc: str
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``dvc ARGS`` in the project; a failure raises a one-line error with DVC's last line."""
        done = subprocess.run(
            [self.dvc, *args], cwd=self.root, env=self.env, capture_output=True, text=True
        )
        if check and done.returncode != 0:
            lines = [ln for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
            detail = next(
                (ln for ln in lines if ln.startswith("error:")), lines[-1] if lines else ""
            )
            raise RoadmapError(f"`dvc {' '.join(args)}` failed: {detail.strip()}")
        return done

    def json(self, *args: str) -> Any:
        out = self.run(*args, "--json").stdout.strip()
        return json.loads(out) if out else {}

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, env=self.env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RoadmapError(f"`git {' '.join(args)}` failed: {done.stderr.strip()[:200]}")
        return done.stdout

    def repro(self) -> list[str]:
        """``dvc repro``; the stages it ran (``train@titanic``, …) or restored from its run-cache
        (``restored:pull@titanic``)."""
        out = self.run("repro").stdout
        return RUNNING.findall(out) + [f"restored:{s}" for s in RESTORED.findall(out)]

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)


def environment(root: Path) -> dict[str, str]:
    """The child environment: analytics off, DVC's and Git's config and caches inside ``root``,
    and this interpreter's ``python`` and ``ai_roadmap`` first for the stage commands."""
    import ai_roadmap

    private = root / ".roadmap"
    source = str(Path(ai_roadmap.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env.update(GIT_IDENTITY)
    env.update(
        DVC_NO_ANALYTICS="1",
        DO_NOT_TRACK="1",
        DVC_SITE_CACHE_DIR=str(private / "site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(private / "global"),
        DVC_SYSTEM_CONFIG_DIR=str(private / "system"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(p for p in [source, env.get("PYTHONPATH", "")] if p),
    )
    return env


def write_params(path: Path, params: Mapping[str, Any]) -> None:
    import yaml

    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(dict(params), sort_keys=False, allow_unicode=True), "utf-8")
    tmp.replace(path)


def create(root: Path, params: Mapping[str, Any], remote: Path) -> DvcProject:
    """A fresh project at ``root`` (must not exist) with ``remote`` as its default remote."""
    dvc = dvc_executable()
    root.mkdir(parents=True)
    (root / ".roadmap").mkdir()
    (root / ".gitignore").write_text(".roadmap/\n*.tmp\n", encoding="utf-8")
    project = DvcProject(root, dvc, environment(root))
    project.git("init", "-q")
    project.run("init", "-q")
    project.run("config", "core.analytics", "false")
    project.run("remote", "add", "-d", "local", str(remote))
    write_params(root / "params.yaml", params)
    (root / "dvc.yaml").write_text(template(), encoding="utf-8")
    return project


def set_param(path: Path, dotted: str, value: Any) -> Any:
    """Set ``a.b.c`` in a YAML params file; returns the old value."""
    import yaml

    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    *parents, last = dotted.split(".")
    node = params
    for part in parents:
        node = node[part]
    old = node[last]
    node[last] = value
    write_params(path, params)
    return old


def file_digests(root: Path, folders: Iterable[str]) -> dict[str, str]:
    """sha256 of every DVC-tracked file under ``folders`` (relative to ``root``), by path."""
    from ai_roadmap.mlops.lineage import sha256_file

    out = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.name != ".gitignore":  # .gitignore: Git's, not DVC's
                out[str(path.relative_to(root))] = sha256_file(path)
    return out


def remove_outputs(root: Path, folders: Iterable[str]) -> None:
    """Delete the workspace copies under ``folders``, keeping the ``.gitignore`` DVC wrote."""
    for folder in folders:
        for path in (root / folder).iterdir():
            if path.name == ".gitignore":
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def changed_outputs(status: Mapping[str, Any]) -> dict[str, list[str]]:
    """From ``dvc status --json``: stage → outputs DVC reports as changed (modified/deleted)."""
    found: dict[str, list[str]] = {}
    for stage, entries in status.items():
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and "changed outs" in entry:
                found.setdefault(stage, []).extend(sorted(entry["changed outs"]))
    return found


def changed_metrics(diff: Mapping[str, Any]) -> dict[str, float]:
    """From ``dvc metrics diff --json``: ``file:metric`` → new − old, for every non-zero change."""
    found = {}
    for file, metrics in diff.items():
        for name, change in metrics.items():
            delta = change.get("diff")
            if isinstance(delta, int | float) and delta != 0:
                found[f"{file}:{name}"] = float(delta)
    return found


def pipeline_params(
    milestones: Iterable[str], scale: str, holdout: float, seed: int
) -> dict[str, Any]:
    """``params.yaml``: the split, each milestone's Hydra config at ``scale`` under its key,
    its recipe under ``milestones.<key>`` and its dataset's source sha256s under ``data``."""
    from omegaconf import OmegaConf

    from ai_roadmap.config import RUNNER_KEYS, compose
    from ai_roadmap.datasets import SOURCES, dataset
    from ai_roadmap.errors import UsageError
    from ai_roadmap.mlops.dvc_stages import MILESTONES, RECIPES

    params: dict[str, Any] = {
        "prepare": {"holdout": float(holdout), "seed": int(seed)},
        "milestones": {},
        "data": {},
    }
    for item in milestones:
        if item not in MILESTONES:
            raise UsageError(
                f"the DVC pipeline has no recipe for {item}; use {', '.join(MILESTONES)}"
            )
        r = RECIPES[MILESTONES[item]]
        params["milestones"][r.key] = {
            "id": item,
            "dataset": r.dataset,
            "table": r.table,
            "target": r.target,
            "task": r.task,
            "model": r.model,
        }
        sources = dataset(r.dataset).sources
        params["data"][r.dataset] = [f"{s} {SOURCES[s].sha256}" for s in sources]
        config = OmegaConf.to_container(compose(item, scale), resolve=True)
        assert isinstance(config, dict)  # a Hydra config's root is a mapping
        params[r.key] = {k: v for k, v in config.items() if k not in RUNNER_KEYS}
    return params
