"""Train, register and export a churn challenger; move the ``@champion`` / ``@challenger`` aliases.

**Model.** The churn logistic regression of
:func:`~ai_roadmap.classic.churn_features.build_full_logreg` (engineered features →
one-hot + standardise → ``LogisticRegression(C)``): it
fits in well under a second on a few thousand rows, so the flow can retrain each
month. ``shuffle_labels`` trains the same pipeline on permuted labels — a
deliberately bad challenger (AUC ≈ 0.5) that exercises the rollback path.

**Registration is all or nothing.** A version is created only after its run's
``model/`` folder is fully logged, and the alias moves only after the version
exists; the MLflow run is marked FINISHED last. A process killed (or a task
that raises) anywhere before ``create_model_version`` leaves no model version —
at most a run marked FAILED with no version pointing at it — so ``@champion``
and the versions the registry lists are untouched.

**Serving.** A version is exported from the registry (the run's ``model/``
artefacts) into ``<model_dir>/<name>@v<version>/`` — a temporary folder renamed
into place — where the service's canary router (:mod:`ai_roadmap.serving.canary`)
can load it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model

CHAMPION, CHALLENGER = "champion", "challenger"
TAG = "roadmap."


def train_churn_model(
    frame: pd.DataFrame, C: float, seed: int, shuffle_labels: bool = False
) -> Any:
    """The churn logistic regression fitted on ``frame`` (features + ``churn``)."""
    from ai_roadmap.classic.churn_features import LABEL, build_full_logreg

    y = frame[LABEL].to_numpy(dtype=int)
    if shuffle_labels:
        y = np.random.default_rng(seed).permutation(y)
    return build_full_logreg(C=C).fit(frame.drop(columns=LABEL), y)


def save_churn_model(model: Any, frame: pd.DataFrame, name: str, folder: Path) -> Path:
    """The model folder (card with the input schema of ``frame``'s features)."""
    from ai_roadmap.classic.churn_features import LABEL

    card = ModelCard(
        name=name,
        task="classification",
        target=LABEL,
        input_schema=infer_input_schema(frame.drop(columns=LABEL)),
        classes=[0, 1],
    )
    return save_model(model, folder, card)


def register_version(
    client: Any,
    experiment_id: str,
    name: str,
    folder: Path,
    tags: dict[str, str],
    alias: str,
    before_register: Callable[[], None] | None = None,
) -> str:
    """Log ``folder`` as a run's ``model/``, create a version of ``name``, set ``alias``.

    ``before_register`` runs between the upload and the version (a fault drill
    raises there). Returns the version number.
    """
    from mlflow.exceptions import MlflowException

    run = client.create_run(experiment_id, run_name=f"{name} {alias}", tags=tags)
    run_id = run.info.run_id
    try:
        client.log_artifacts(run_id, str(folder), artifact_path="model")
        if before_register is not None:
            before_register()
        with contextlib.suppress(MlflowException):  # already registered
            client.create_registered_model(name)
        source = f"{run.info.artifact_uri}/model"
        version = client.create_model_version(name, source, run_id=run_id, tags=tags)
        client.set_registered_model_alias(name, alias, version.version)
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return str(version.version)


def alias_version(client: Any, name: str, alias: str) -> str | None:
    """The version an alias points at; None without it or before ``name`` is registered."""
    from ai_roadmap.errors import UsageError
    from ai_roadmap.mlops import registry

    try:
        return registry.alias_version(client, name, alias)
    except UsageError:  # not registered yet
        return None


def promote(client: Any, name: str, version: str) -> None:
    """``@champion`` → ``version``; ``@challenger`` removed; the version tagged promoted.

    Goes through :func:`ai_roadmap.mlops.registry.promote`, which records the champion
    it replaced, so ``roadmap models rollback`` can return to it later.
    """
    from ai_roadmap.mlops import registry

    client.set_registered_model_alias(name, CHALLENGER, version)
    registry.promote(client, name)
    client.set_model_version_tag(name, version, TAG + "outcome", "promoted")


def drop_challenger(client: Any, name: str, version: str, outcome: str) -> None:
    """Remove ``@challenger`` and tag the version with why (rejected, rolled-back, promoted)."""
    from mlflow.exceptions import MlflowException

    with contextlib.suppress(MlflowException):
        client.delete_registered_model_alias(name, CHALLENGER)
    client.set_model_version_tag(name, version, TAG + "outcome", outcome)


def version_numbers(client: Any, name: str) -> list[str]:
    """Every version of ``name`` in the registry (an empty list when none)."""
    return sorted((str(v.version) for v in client.search_model_versions(f"name='{name}'")), key=int)


def export_version(client: Any, name: str, version: str, model_dir: Path, served: str) -> str:
    """Download a version's ``model/`` into ``model_dir/<served>@v<version>``; the folder name."""
    from ai_roadmap.serving.fast.compile import export_fast_path

    folder_name = f"{served}@v{version}"
    final = model_dir / folder_name
    run_id = client.get_model_version(name, version).run_id
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=f".{folder_name}-") as tmp:
        local = Path(client.download_artifacts(run_id, "model", tmp))
        (local / "VERSION").write_text(f"{version}\n")
        export_fast_path(local)
        if final.exists():
            shutil.rmtree(final)
        local.replace(final)
    return folder_name
