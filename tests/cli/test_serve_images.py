"""`roadmap serve-images`: the registry's image model behind a real server, over REST and gRPC;
one-line errors for a missing model and a bad setting."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ai_roadmap.cli import app
from ai_roadmap.serving.server import free_port, stop_server

runner = CliRunner()


def test_a_missing_model_names_the_run_that_makes_it(roadmap_home: Path) -> None:
    result = runner.invoke(app, ["serve-images", "--models", "s3.resnet18"])
    assert result.exit_code == 1
    assert "run `roadmap run s3.resnet18` first" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_runtime_is_a_usage_error(roadmap_home: Path) -> None:
    result = runner.invoke(app, ["serve-images", "--runtime", "tensorrt"])
    assert result.exit_code == 2
    assert "--runtime must be eager or onnx, got 'tensorrt'" in result.output


def _register_stand_in(home: Path) -> tuple[np.ndarray, np.ndarray]:
    """A small MobileNetV2 registered as the s3.distill champion; its reference answers."""
    from ai_roadmap.serving.deep.runtime import ImageRuntime, load_folder, save_stand_in
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import client, register_model

    norm = ((0.286,), (0.353,))
    classes = tuple(f"class {k}" for k in range(10))
    folder = save_stand_in(home / "stand-in", "MobileNetV2", (1, 28, 28), classes, norm, seed=3)
    mlflow_client, experiment = client(get_settings())
    run = mlflow_client.create_run(experiment)
    mlflow_client.log_artifacts(run.info.run_id, str(folder), "model")
    mlflow_client.set_terminated(run.info.run_id)
    register_model(mlflow_client, "s3.distill", run.info.run_id, "pass", "quick")
    images = np.random.default_rng(0).integers(0, 256, (4, 1, 28, 28)).astype(np.uint8)
    info, module = load_folder(folder, "s3.distill", "", "")
    eager = ImageRuntime(info, module, "eager", 1)
    return np.concatenate([eager.predict(i[None].astype(np.float32)) for i in images]), images


@pytest.mark.slow
def test_serves_the_registry_champion_over_rest_and_grpc(roadmap_home: Path) -> None:
    from ai_roadmap.serving.deep.client import answers

    reference, images = _register_stand_in(roadmap_home)
    rest, grpc_port = free_port(), free_port()
    command = [sys.executable, "-m", "ai_roadmap", "serve-images", "--models", "s3.distill"]
    command += ["--port", str(rest), "--grpc-port", str(grpc_port), "--threads", "1"]
    log = roadmap_home / "serve-images.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ),
            start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{rest}"
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        with urllib.request.urlopen(f"{url}/v1/models", timeout=5) as r:
            listed = json.loads(r.read())
        assert "s3.distill" in json.dumps(listed)
        cache = roadmap_home / "cache" / "grpc"
        for protocol, target in (("rest", url), ("grpc", f"127.0.0.1:{grpc_port}")):
            got = asyncio.run(answers(protocol, target, "s3.distill", images, cache))
            assert all(a.ok for a in got), [a.detail for a in got]
            np.testing.assert_allclose([a.probabilities for a in got], reference, atol=1e-5)
    finally:
        stop_server(process)
    assert process.poll() is not None
