"""`roadmap models`: list, challenge, promote, rollback, lineage through the CLI, and the
one-line errors (unknown model, nothing to promote) on the SQLite store of the home."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ai_roadmap import tracking
from ai_roadmap.cli import app
from ai_roadmap.settings import get_settings
from tiny_registry import register_version

runner = CliRunner()


def _one_line_error(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_models_commands_move_the_aliases_and_refuse_in_one_line(roadmap_home: Path) -> None:
    client, experiment = tracking.client(get_settings())
    for k in (1, 2):
        register_version(client, experiment, roadmap_home, "s0.titanic", k)

    result = runner.invoke(app, ["models", "promote", "s9.nope"])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert line.startswith("error: no registered model 's9.nope'") and "s0.titanic" in line

    result = runner.invoke(app, ["models", "promote", "s0.titanic"])
    assert result.exit_code == 2
    line = _one_line_error(result.output)
    assert "no @challenger to promote" in line and "roadmap models challenge s0.titanic" in line

    assert runner.invoke(app, ["models", "challenge", "s0.titanic", "2"]).output.strip() == (
        "s0.titanic@challenger: unset -> v2"
    )
    result = runner.invoke(app, ["models", "promote", "s0.titanic"])
    assert result.exit_code == 0 and result.output.strip() == "s0.titanic@champion: v1 -> v2"
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert listed == {"models": {"s0.titanic": {"champion": "2"}}}
    versions = json.loads(runner.invoke(app, ["models", "list", "s0.titanic", "--json"]).output)
    assert [(v["version"], v["aliases"], v["previous_champion"]) for v in versions["versions"]] == [
        ("2", ["champion"], "1"),
        ("1", [], None),
    ]
    result = runner.invoke(app, ["models", "rollback", "s0.titanic"])
    assert result.exit_code == 0 and result.output.strip() == "s0.titanic@champion: v2 -> v1"
    result = runner.invoke(app, ["models", "rollback", "s0.titanic"])
    assert result.exit_code == 2 and "nothing to roll back to" in _one_line_error(result.output)

    found = json.loads(runner.invoke(app, ["models", "lineage", "s0.titanic", "--json"]).output)
    assert found["version"] == "1" and found["card"]["name"] == "s0.titanic"
    text = runner.invoke(app, ["models", "lineage", "s0.titanic"]).output
    assert "missing:  roadmap.git_sha, roadmap.dataset" in text  # the tiny runs carry no tags
