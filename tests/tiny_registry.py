"""Registered versions of a tiny model in a real MLflow store, for the registry tests.

Each version is a real model folder (a fitted ``DummyClassifier`` with its card) logged
as the run's ``model/`` artefact and registered by ``tracking.register_model``, the
function the runner uses; the card's ``metrics["k"]`` says which version a folder is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_roadmap import tracking
from ai_roadmap.artifacts import ModelCard, save_model


def register_version(
    client: Any,
    experiment: str,
    scratch: Path,
    name: str,
    k: int,
    scale: str = "smoke",
    verdict: str = "pass",
    tags: dict[str, str] | None = None,
) -> str:
    """Log a run holding model ``k`` of ``name`` and register it; returns the version."""
    from sklearn.dummy import DummyClassifier

    run = client.create_run(experiment, tags={"roadmap.id": name, **(tags or {})})
    card = ModelCard(
        name=name,
        task="classification",
        target="y",
        input_schema={"x": {"type": "number", "min": 0.0, "max": 1.0, "nullable": False}},
        classes=[0, 1],
        metrics={"k": float(k)},
    )
    model = DummyClassifier(strategy="prior").fit([[0.0], [1.0], [1.0]], [0, 1, 1])
    folder = save_model(model, scratch / f"{name}-{k}", card)
    client.log_artifacts(run.info.run_id, str(folder), artifact_path="model")
    client.set_terminated(run.info.run_id, "FINISHED")
    return tracking.register_model(client, name, run.info.run_id, verdict, scale)
