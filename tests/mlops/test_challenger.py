"""Registration of a challenger is all or nothing: a retrain process SIGKILLed after uploading
its model and before registering it leaves the registry's versions and ``@champion`` as they
were; a raise at the same point marks its run FAILED. Aliases move as promote / drop say."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ai_roadmap.mlops import challenger as reg
from ai_roadmap.settings import get_settings
from ai_roadmap.tracking import client


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, data_home: Path) -> Iterator[Path]:
    """One MLflow store for the module (its schema takes seconds to create); a model per test."""
    home = tmp_path_factory.mktemp("registry-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROADMAP_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("ROADMAP_TRACKING_URI", raising=False)
        get_settings.cache_clear()
        client(get_settings())
        yield home
    get_settings.cache_clear()


def _folder(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    (root / "model.joblib").write_text(text)
    return root


def _register(tmp_path: Path, name: str, label: str, alias: str, before=None) -> str:  # type: ignore[no-untyped-def]
    mlflow_client, experiment = client(get_settings())
    folder = _folder(tmp_path / label, label)
    return reg.register_version(mlflow_client, experiment, name, folder, {}, alias, before)


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ai_roadmap.mlops import challenger as reg
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import client

    folder, marker, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    folder.mkdir()
    (folder / "model.joblib").write_text("challenger")

    def stall():
        marker.write_text("uploaded")
        time.sleep(120)

    mlflow_client, experiment = client(get_settings())
    reg.register_version(mlflow_client, experiment, name, folder, {}, "challenger", stall)
    """
)


@pytest.mark.slow
def test_a_retrain_killed_mid_registration_leaves_no_version(
    registry: Path, tmp_path: Path
) -> None:
    NAME = "killed.churn"
    champion = _register(tmp_path, NAME, "v1", reg.CHAMPION)
    marker = tmp_path / "uploaded"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "child"), str(marker), NAME],
        env=dict(os.environ),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), f"the child never reached the upload (exit {child.poll()})"
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    mlflow_client, _ = client(get_settings())
    assert reg.version_numbers(mlflow_client, NAME) == [champion]
    assert reg.alias_version(mlflow_client, NAME, reg.CHAMPION) == champion
    assert reg.alias_version(mlflow_client, NAME, reg.CHALLENGER) is None


def test_a_raise_before_registering_fails_the_run_and_adds_no_version(
    registry: Path, tmp_path: Path
) -> None:
    NAME = "raised.churn"
    champion = _register(tmp_path, NAME, "v1", reg.CHAMPION)

    def crash() -> None:
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        _register(tmp_path, NAME, "v2", reg.CHALLENGER, crash)
    mlflow_client, experiment = client(get_settings())
    assert reg.version_numbers(mlflow_client, NAME) == [champion]
    runs = mlflow_client.search_runs([experiment], f"attributes.run_name LIKE '{NAME}%'")
    statuses = {r.info.run_name: r.info.status for r in runs}
    assert statuses == {f"{NAME} champion": "FINISHED", f"{NAME} challenger": "FAILED"}


def test_promote_and_drop_move_the_aliases_and_tag_the_outcome(
    registry: Path, tmp_path: Path
) -> None:
    NAME = "aliases.churn"
    first = _register(tmp_path, NAME, "v1", reg.CHAMPION)
    second = _register(tmp_path, NAME, "v2", reg.CHALLENGER)
    mlflow_client, _ = client(get_settings())
    assert reg.alias_version(mlflow_client, NAME, reg.CHALLENGER) == second
    reg.drop_challenger(mlflow_client, NAME, second, "rolled-back")
    assert reg.alias_version(mlflow_client, NAME, reg.CHALLENGER) is None
    assert reg.alias_version(mlflow_client, NAME, reg.CHAMPION) == first
    third = _register(tmp_path, NAME, "v3", reg.CHALLENGER)
    reg.promote(mlflow_client, NAME, third)
    assert reg.alias_version(mlflow_client, NAME, reg.CHAMPION) == third
    assert reg.alias_version(mlflow_client, NAME, reg.CHALLENGER) is None
    tags = {v: mlflow_client.get_model_version(NAME, v).tags for v in (second, third)}
    assert tags[second]["roadmap.outcome"] == "rolled-back"
    assert tags[third]["roadmap.outcome"] == "promoted"
