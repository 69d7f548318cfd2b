"""Optional dependency groups: read from the installed metadata, one line when one is missing."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_roadmap import extras
from ai_roadmap.catalog import load_catalog
from ai_roadmap.cli import app
from ai_roadmap.errors import RoadmapError


def test_the_domain_extras_are_declared_and_installed_here() -> None:
    assert {"classic", "deep", "serve", "all", "dev"} <= extras.declared()
    for extra in ("classic", "deep", "serve", "all"):
        assert extras.missing(extra) == [], extra  # `make test` installs .[all,dev]
    assert ("torch", ()) in extras.requirements("deep")
    assert ("ai-roadmap", ("classic",)) in extras.requirements("deep")


def test_every_built_milestone_names_a_declared_extra() -> None:
    declared = extras.declared()
    for item in load_catalog().items:
        if item.built:
            assert item.extra in declared, (item.id, item.extra)


def _without(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name in names:
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(extras.importlib.metadata, "version", version)


def test_a_missing_extra_is_found_through_nested_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "lightgbm")
    assert extras.missing("classic") == ["lightgbm"]
    assert extras.missing("deep") == ["lightgbm"]  # deep includes classic
    assert extras.missing("serve") == []  # the service predicts without LightGBM
    with pytest.raises(RoadmapError, match=r"s2\.house needs the 'classic' extra"):
        extras.require("classic", "s2.house")
    extras.require(None, "anything")  # no extra named: nothing to check


def test_running_a_milestone_without_its_extra_says_what_to_install(
    roadmap_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without(monkeypatch, "torch")
    result = CliRunner().invoke(app, ["run", "s3.cnn", "--scale", "smoke"])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line == (
        "error: s3.cnn needs the 'deep' extra (torch not installed): pip install 'ai-roadmap[deep]'"
    )
    assert "Traceback" not in result.output
    shown = CliRunner().invoke(app, ["show", "s3.cnn"])
    assert "pip install 'ai-roadmap[deep]'" in shown.output


def test_poem_and_serve_name_their_extras(
    roadmap_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without(monkeypatch, "torch", "gunicorn")
    poem = CliRunner().invoke(app, ["poem", "--form", "wujue"])
    assert poem.exit_code == 1 and "pip install 'ai-roadmap[deep]'" in poem.output
    serve = CliRunner().invoke(app, ["serve", "--export-only"])
    assert serve.exit_code == 1 and "pip install 'ai-roadmap[serve]'" in serve.output
