"""The `roadmap` CLI: exit codes and the key line of every command, bad input included."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap.catalog import load_catalog
from ai_roadmap.cli import app
from tests_ids import IDS

# every milestone of the roadmap has a module now: the tests of a not-yet-built one see the
# catalog with s4.report's module taken away (the catalog lists unbuilt items all the same)
UNBUILT = "s4.report"


@pytest.fixture
def unbuilt(monkeypatch: pytest.MonkeyPatch) -> str:
    from dataclasses import replace

    from ai_roadmap import runner as roadmap_runner
    from ai_roadmap.cli import roadmap as cli_roadmap

    real = load_catalog()
    items = tuple(replace(i, module=None) if i.id == UNBUILT else i for i in real.items)
    fake = replace(real, items=items)
    monkeypatch.setattr(roadmap_runner, "load_catalog", lambda: fake)
    monkeypatch.setattr(cli_roadmap, "load_catalog", lambda: fake)
    return UNBUILT


runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def no_traceback(result) -> None:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_list_shows_every_id(roadmap_home: Path) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    for item_id in IDS:
        assert item_id in result.output
    assert "s5.infra" in result.output


def test_list_one_stage(roadmap_home: Path) -> None:
    result = invoke("list", "--stage", "1")
    assert result.exit_code == 0
    assert "s1.pca" in result.output and "s0.titanic" not in result.output
    bad = invoke("list", "--stage", "9")
    assert bad.exit_code == 2 and "no stage 9" in bad.output


def test_show(roadmap_home: Path) -> None:
    result = invoke("show", "s0.titanic")
    assert result.exit_code == 0
    assert "test_accuracy >= 0.79" in result.output
    assert "roadmap data pull titanic" in result.output
    assert "roadmap run s0.titanic" in result.output


def test_show_gives_the_stage6_plans_and_done_ticks_them(roadmap_home: Path) -> None:
    leetcode = invoke("show", "s6.leetcode")
    assert leetcode.exit_code == 0
    text = " ".join(leetcode.output.split())
    assert "plan:" in text and "13 problems a week for 8 weeks" in text
    assert all(f"Week {week}" in text for week in range(1, 9))
    opensource = " ".join(invoke("show", "s6.opensource").output.split())
    for repo in ("huggingface/transformers", "Lightning-AI/pytorch-lightning"):
        assert f"https://github.com/{repo}/issues?q=is:issue+is:open+label:%22good+first+issue" in (
            opensource.replace(" ", "")
        )
    assert invoke("done", "s6.leetcode").exit_code == 0
    status = json.loads(invoke("status", "--json").output)
    (row,) = [r for r in status["items"] if r["id"] == "s6.leetcode"]
    assert row["done"] is True


@pytest.mark.parametrize("command", ["run", "show"])
def test_unknown_id_suggests_closest(roadmap_home: Path, command: str) -> None:
    result = invoke(command, "s0.titanik")
    assert result.exit_code == 2
    assert "unknown roadmap id 's0.titanik'" in result.output
    assert "s0.titanic" in result.output
    no_traceback(result)


def test_run_task_says_it_is_a_task(roadmap_home: Path) -> None:
    result = invoke("run", "s6.leetcode")
    assert result.exit_code == 2
    assert "learning task" in result.output and "roadmap done s6.leetcode" in result.output


def test_run_unbuilt_milestone(roadmap_home: Path, unbuilt: str) -> None:
    result = invoke("run", unbuilt)
    assert result.exit_code == 2
    assert UNBUILT in result.output
    no_traceback(result)


def test_bad_override_is_one_line(roadmap_home: Path) -> None:
    result = invoke("run", "s0.titanic", "--scale", "smoke", "cv.nosuchkey=3")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines == ["error: bad override: Could not override 'cv.nosuchkey'."]
    no_traceback(result)


def test_bad_scale(roadmap_home: Path) -> None:
    result = invoke("run", "s0.titanic", "--scale", "huge")
    assert result.exit_code == 2 and "unknown scale 'huge'" in result.output


def test_missing_data_names_the_pull_command(empty_data_home: Path) -> None:
    result = invoke("run", "s0.titanic", "--scale", "smoke")
    assert result.exit_code == 1
    assert "run `roadmap data pull titanic`" in result.output
    no_traceback(result)


def test_status_json_lists_every_item(roadmap_home: Path, unbuilt: str) -> None:
    result = invoke("status", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)["items"]
    assert [row["id"] for row in rows] == IDS
    titanic = next(r for r in rows if r["id"] == "s0.titanic")
    assert titanic["verdict"] == "not run"
    assert next(r for r in rows if r["id"] == UNBUILT)["verdict"] == "not built"


def test_done_and_undone(roadmap_home: Path) -> None:
    assert invoke("done", "s0.env").exit_code == 0
    rows = json.loads(invoke("status", "--json").output)["items"]
    assert next(r for r in rows if r["id"] == "s0.env")["done"] is True
    assert "done" in invoke("list", "--stage", "0").output
    assert invoke("undone", "s0.env").exit_code == 0
    rows = json.loads(invoke("status", "--json").output)["items"]
    assert next(r for r in rows if r["id"] == "s0.env")["done"] is False
    milestone = invoke("done", "s0.titanic")
    assert milestone.exit_code == 2 and "is a milestone" in milestone.output


def test_plan(roadmap_home: Path) -> None:
    result = invoke("plan", "--hours-per-week", "20", "--start", "2027-01-04")
    assert result.exit_code == 0
    # stage 0 = 0.43 weeks at 10 h/week = 4.3 h → 0.215 weeks at 20 h/week → 2 days
    assert "2027-01-06" in result.output
    bad = invoke("plan", "--start", "next monday")
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


def test_data_list_and_bad_pull(roadmap_home: Path) -> None:
    result = invoke("data", "list")
    assert (
        result.exit_code == 0 and "titanic" in result.output and "dataprep==0.4.1" in result.output
    )
    bad = invoke("data", "pull", "cifar100")
    assert bad.exit_code == 2 and "unknown dataset 'cifar100'" in bad.output
    none = invoke("data", "pull")
    assert none.exit_code == 2


def test_help_and_list_import_no_heavy_library(roadmap_home: Path) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from ai_roadmap.cli import app\n"
        "r = CliRunner()\n"
        "assert r.invoke(app, ['--help']).exit_code == 0\n"
        "assert r.invoke(app, ['list']).exit_code == 0\n"
        "heavy = ('torch', 'mlflow', 'lightgbm', 'sklearn', 'pandas')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_help_is_fast(roadmap_home: Path) -> None:
    # CPU time of the child (user + sys), so a busy machine does not fail the test
    best = min(_cpu_seconds_of_help() for _ in range(3))
    assert best < 0.5, f"roadmap --help took {best:.2f} s of CPU"


def _cpu_seconds_of_help() -> float:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "ai_roadmap", "--help"], capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_serve_refuses_missing_or_unknown_models(roadmap_home: Path) -> None:
    missing = invoke("serve", "--models", "titanic", "--export-only")
    assert missing.exit_code == 1
    assert "no trained model 's0.titanic' in the registry; run `roadmap run s0.titanic` first" in (
        missing.output
    )
    unknown = invoke("serve", "--models", "cats", "--export-only")
    assert unknown.exit_code == 2 and "unknown model 'cats'" in unknown.output
    no_traceback(missing)
