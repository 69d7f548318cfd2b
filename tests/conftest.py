"""Shared fixtures: an isolated ROADMAP_HOME per test, the pulled data shared.

``make test`` pulls the datasets the tests need once, wherever the settings put them
(``ROADMAP_DATA_HOME``, else ``$ROADMAP_HOME/data``, else ``~/.ai-roadmap/data``); tests
read them from there and write runs, models and the MLflow store into a temporary home.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from ai_roadmap.settings import Settings, get_settings

# CI runs the same examples every time (a failure there is reproducible here);
# `HYPOTHESIS_PROFILE=explore pytest` searches afresh.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("explore", deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def data_home() -> Path:
    """The pulled datasets, by the same rule as ``roadmap data pull`` (the settings object)."""
    return Settings().data_root


@pytest.fixture
def roadmap_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_home: Path
) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("ROADMAP_HOME", str(home))
    monkeypatch.setenv("ROADMAP_DATA_HOME", str(data_home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("ROADMAP_DATA_DIR", raising=False)
    monkeypatch.delenv("ROADMAP_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def empty_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with no datasets at all (for the missing-data messages)."""
    home = tmp_path / "bare"
    monkeypatch.setenv("ROADMAP_HOME", str(home))
    monkeypatch.setenv("ROADMAP_DATA_HOME", str(home / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module of tiny models: more only pay for synchronisation."""
    from ai_roadmap.training.threads import torch_threads

    with torch_threads(1):
        yield
