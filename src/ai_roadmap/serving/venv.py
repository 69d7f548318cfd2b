"""The serving environment: a virtualenv with only the ``serve`` extra, pruned, and its size.

This is what the Dockerfile's builder stage makes — ``python -m venv``, the ``serve``
extra of pyproject.toml, the project itself with ``--no-deps``, then
:func:`prune_venv` — so that the image holds no MLflow, torch or other
training-only library. The image runs with ``PYTHONDONTWRITEBYTECODE=1``:
modules compile in memory at import (a slower worker start, a smaller image).

The Dockerfile calls :func:`prune_venv` inside the builder image, which has only
the ``serve`` extra installed: this module imports the standard library alone.
Unpickling a pipeline imports the module of each custom transformer
(``ai_roadmap.classic.titanic``, ``churn_features``, ``house_features``): those,
likewise, import nothing beyond the ``serve`` extra at module top.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ai_roadmap.errors import RoadmapError

# Installer tooling the running service never imports.
TOOLING = ("pip", "setuptools", "wheel", "pkg_resources", "_distutils_hack")


def serve_requirements() -> tuple[list[str], str]:
    """The ``serve`` extra of the installed ``ai-roadmap`` and where it was read."""
    try:
        declared = importlib.metadata.requires("ai-roadmap") or []
    except importlib.metadata.PackageNotFoundError:
        declared = []
    serve = []
    for line in declared:
        spec, _, marker = line.partition(";")
        if marker.replace("'", '"').replace(" ", "").find('extra=="serve"') >= 0:
            serve.append(spec.strip())
    if not serve:
        raise RoadmapError("the installed ai-roadmap declares no `serve` extra; reinstall it")
    return serve, "pyproject.toml [project.optional-dependencies] serve"


def project_root() -> Path | None:
    """The source tree holding pyproject.toml (an editable install), else None."""
    root = Path(__file__).resolve().parents[3]  # serving/, ai_roadmap/, src/, the checkout
    return root if (root / "pyproject.toml").exists() else None


def site_packages(venv: Path) -> Path:
    """The ``lib/python3*/site-packages`` folder of ``venv``."""
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if not found:
        raise RoadmapError(f"{venv} is not a virtual environment (no lib/python3*/site-packages)")
    return found[0]


def prune_venv(venv: Path | str) -> None:
    """Delete what a running service never reads: installer tooling, tests, bytecode, JS maps.

    Shared libraries are not stripped: numpy's and scipy's bundled OpenBLAS no
    longer load once stripped.
    """
    venv = Path(venv)
    site = site_packages(venv)
    for entry in list(site.iterdir()):
        stem = entry.name.split("-")[0].lower()
        if stem in TOOLING or entry.name == "distutils-precedence.pth":
            _remove(entry)
    for script in venv.glob("bin/pip*"):
        script.unlink()
    for name in ("tests", "__pycache__"):
        for folder in sorted(site.rglob(name), key=lambda p: len(p.parts)):
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
    for source_map in site.rglob("*.js.map"):  # browser debugging aids of the Swagger UI bundle
        source_map.unlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def directory_size_mb(path: Path) -> float:
    """Disk usage in MiB, as ``du -s`` counts it (allocated blocks, hard links once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            stat = os.lstat(os.path.join(root, name))
            if (stat.st_dev, stat.st_ino) not in seen:
                seen.add((stat.st_dev, stat.st_ino))
                total += stat.st_blocks * 512
    return total / 2**20


def _run(command: list[str], what: str, timeout_s: float = 900) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise RoadmapError(f"{what} failed ({done.returncode}): " + " | ".join(tail))


def build_serving_venv(dest: Path, requirements: list[str], project: Path) -> Path:
    """The Dockerfile's builder stage, here: venv, serve extra, project without deps, prune."""
    _run([sys.executable, "-m", "venv", str(dest)], "python -m venv")
    pip = [str(dest / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]
    _run([*pip, *requirements], "installing the serve extra")
    _run([*pip, "--no-deps", str(project)], "installing ai-roadmap (--no-deps)")
    prune_venv(dest)
    return dest


def serving_venv_size_mb(packages: list[str] | None = None) -> float:
    """Build the pruned serving venv in a scratch folder and return its size in MiB (~15–60 s)."""
    project = project_root()
    if project is None:
        raise RoadmapError("the serving venv is built from a source checkout (pyproject.toml)")
    with tempfile.TemporaryDirectory(prefix="roadmap-servevenv-") as scratch:
        venv = build_serving_venv(
            Path(scratch) / "venv", packages or serve_requirements()[0], project
        )
        return directory_size_mb(venv)
