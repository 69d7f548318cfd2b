"""Lineage of a registered model version: version → run → data hashes, git SHA, model card.

A version in the registry points at the run that produced it (``run_id``) and at
the folder it was registered from (``source``). The runner tags that run with
what it saw and ran: ``roadmap.git_sha`` (the checkout's commit, ``-dirty`` when
tracked files were modified, ``unknown`` outside Git), ``roadmap.dataset`` (the
dataset's description) and, where the runner records data hashes,
``roadmap.data.<dataset>`` tags (read here as they are: whatever exists is
shown). The folder carries its ``model_card.json`` (task, target, input schema,
library versions, and the sha256 of every file in the folder).

:func:`checkout_head` is the commit the code runs from now, to tell whether a
version was trained by the code at hand. ``missing`` names the links that are
absent, so "is this lineage complete?" is a question with a list for an answer.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ai_roadmap.artifacts import CARD_FILE
from ai_roadmap.errors import UsageError
from ai_roadmap.mlops.registry import require_model
from ai_roadmap.tracking import TAG

DATA_TAG = TAG + "data."
CARD_KEYS = ("name", "task", "target", "format", "file", "metrics", "versions", "files")


@dataclass(frozen=True)
class Lineage:
    """Everything recorded between a model version and what produced it."""

    model: str
    version: str
    aliases: list[str]
    source: str
    run_id: str
    run_status: str
    item_id: str
    scale: str
    verdict: str
    git_sha: str
    dataset: str
    data: dict[str, str] = field(default_factory=dict)  # dataset name -> hash, from roadmap.data.*
    metrics: dict[str, float] = field(default_factory=dict)
    card: dict[str, Any] = field(default_factory=dict)

    def missing(self, require_data: bool = False, require_git: bool = True) -> list[str]:
        """The links that are absent; empty when the lineage is complete.

        ``require_git=False`` accepts ``unknown`` for code that runs outside a Git
        checkout (an installed wheel), where no commit exists to record.
        """
        gaps = []
        if not self.run_id:
            gaps.append("run (the version names no run)")
        elif self.run_status != "FINISHED":
            gaps.append(f"run (status {self.run_status or 'not found'})")
        if self.item_id != self.model:
            gaps.append(f"roadmap.id (the run says {self.item_id!r})")
        if not self.git_sha or (require_git and self.git_sha == "unknown"):
            gaps.append("roadmap.git_sha")
        if not self.dataset:
            gaps.append("roadmap.dataset")
        if require_data and not self.data:
            gaps.append("roadmap.data.* (no data hash recorded)")
        if not self.card:
            gaps.append(CARD_FILE)
        elif self.card.get("name") != self.model:
            gaps.append(f"{CARD_FILE} (names {self.card.get('name')!r})")
        return gaps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_version(client: Any, name: str, ref: str) -> Any:
    """The model version for ``ref``: a version number or an alias (``champion``)."""
    from mlflow.exceptions import MlflowException

    require_model(client, name)
    ref = ref.lstrip("@")
    try:
        if ref.isdigit():
            return client.get_model_version(name, ref)
        return client.get_model_version_by_alias(name, ref)
    except MlflowException:
        raise UsageError(
            f"{name} has no version or alias {ref!r}; see `roadmap models list {name}`"
        ) from None


def read_card(client: Any, source: str) -> dict[str, Any]:
    """The card of the folder a version was registered from (its summary keys); {} if absent."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory(prefix="roadmap-card-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{source}/{CARD_FILE}", dst_path=tmp, tracking_uri=client.tracking_uri
            )
        except (MlflowException, OSError):
            return {}
        card = json.loads(Path(local).read_text(encoding="utf-8"))
    return {k: card[k] for k in CARD_KEYS if k in card}


def lineage(client: Any, name: str, ref: str = "champion") -> Lineage:
    """Follow ``name``@``ref`` (alias or version) back to its run, tags and card."""
    from mlflow.exceptions import MlflowException

    version = resolve_version(client, name, ref)
    tags: dict[str, str] = {}
    metrics: dict[str, float] = {}
    status = ""
    if version.run_id:
        try:
            run = client.get_run(version.run_id)
            tags, metrics, status = dict(run.data.tags), dict(run.data.metrics), run.info.status
        except MlflowException:
            status = ""
    return Lineage(
        model=name,
        version=str(version.version),
        aliases=sorted(version.aliases),
        source=version.source,
        run_id=version.run_id or "",
        run_status=status,
        item_id=tags.get(TAG + "id", ""),
        scale=tags.get(TAG + "scale", ""),
        verdict=tags.get(TAG + "verdict", ""),
        git_sha=tags.get(TAG + "git_sha", ""),
        dataset=tags.get(TAG + "dataset", ""),
        data={k[len(DATA_TAG) :]: v for k, v in sorted(tags.items()) if k.startswith(DATA_TAG)},
        metrics=metrics,
        card=read_card(client, version.source),
    )


def checkout_head() -> str:
    """``git rev-parse HEAD`` of the checkout this package runs from; "unknown" outside Git."""
    import ai_roadmap

    try:
        found = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(ai_roadmap.__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return found.stdout.strip() if found.returncode == 0 else "unknown"
