"""Registry aliases ``@champion`` / ``@challenger``: list, challenge, promote, demote, roll back.

MLflow deprecated model stages (Staging/Production) for aliases: mutable, named
pointers to one version of a registered model (``models:/s0.titanic@champion``).
The serving export reads ``@champion``; a candidate waits as ``@challenger``.
Moving an alias is one registry call, so there is no copy to undo; what a
rollback needs is memory, and that lives on the versions themselves:

    promote:   champion := challenger;  new champion's tag previous_champion := old champion
    rollback:  champion := tag previous_champion of the current champion
               (the demoted version is tagged ``roadmap.demoted``)

so rolling back twice walks the chain of champions backwards, and every step
is visible in the registry (the tags), not in a side file. ``tracking.register_model``
writes the same tag when a new run takes ``@champion`` by itself.

Two people promoting at the same instant race like any read-then-write on the
registry (the last write wins); the tags still tell what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.tracking import CHAMPION, PREVIOUS_CHAMPION, TAG

CHALLENGER = "challenger"
DEMOTED = TAG + "demoted"


@dataclass(frozen=True)
class VersionInfo:
    """One registered version as ``roadmap models list`` shows it."""

    version: str
    aliases: list[str]
    run_id: str
    scale: str
    verdict: str
    created: str  # UTC, minute precision
    previous_champion: str | None = None
    demoted: str | None = None


@dataclass(frozen=True)
class Move:
    """An alias moved: ``alias`` went from version ``before`` (None: unset) to ``after``."""

    name: str
    alias: str
    before: str | None
    after: str | None
    extra: dict[str, str] = field(default_factory=dict)


def _exception() -> type[Exception]:
    from mlflow.exceptions import MlflowException

    return MlflowException


def registered_names(client: Any) -> list[str]:
    """Every registered model's name, sorted."""
    return sorted(m.name for m in client.search_registered_models(max_results=1000))


def require_model(client: Any, name: str) -> Any:
    """The registered model ``name``, or a one-line :class:`UsageError` listing what exists."""
    try:
        return client.get_registered_model(name)
    except _exception():
        known = registered_names(client)
        listed = ", ".join(known) if known else "none yet"
        raise UsageError(
            f"no registered model {name!r} (registered: {listed}); "
            f"a milestone registers its model when run: `roadmap run ID`"
        ) from None


def aliases(client: Any, name: str) -> dict[str, str]:
    """Alias → version of a registered model."""
    model = require_model(client, name)
    return {alias: str(version) for alias, version in dict(model.aliases).items()}


def alias_version(client: Any, name: str, alias: str) -> str | None:
    """The version ``name@alias`` points at, or None."""
    return aliases(client, name).get(alias)


def _info(v: Any, alias_names: list[str]) -> VersionInfo:
    created = datetime.fromtimestamp(int(v.creation_timestamp) / 1000, tz=UTC)
    return VersionInfo(
        version=str(v.version),
        aliases=sorted(alias_names),
        run_id=v.run_id or "",
        scale=v.tags.get(TAG + "scale", ""),
        verdict=v.tags.get(TAG + "verdict", ""),
        created=created.strftime("%Y-%m-%d %H:%M"),
        previous_champion=v.tags.get(PREVIOUS_CHAMPION),
        demoted=v.tags.get(DEMOTED),
    )


def list_versions(client: Any, name: str) -> list[VersionInfo]:
    """Every version of ``name``, newest first, with its aliases."""
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases(client, name).items():  # a search leaves version.aliases empty
        by_version.setdefault(version, []).append(alias)
    found = client.search_model_versions(f"name = '{name}'", max_results=1000)
    rows = (_info(v, by_version.get(str(v.version), [])) for v in found)
    return sorted(rows, key=lambda i: int(i.version), reverse=True)


def _require_version(client: Any, name: str, version: str) -> None:
    try:
        client.get_model_version(name, str(version))
    except _exception():
        have = ", ".join(i.version for i in list_versions(client, name))
        raise UsageError(f"{name} has no version {version!r} (versions: {have})") from None


def set_challenger(client: Any, name: str, version: str) -> Move:
    """Point ``@challenger`` at ``version`` (which must not be the champion)."""
    before = aliases(client, name)
    _require_version(client, name, version)
    if before.get(CHAMPION) == str(version):
        raise UsageError(f"{name} v{version} is already @champion; challenge with another version")
    client.set_registered_model_alias(name, CHALLENGER, str(version))
    return Move(name, CHALLENGER, before.get(CHALLENGER), str(version))


def promote(client: Any, name: str) -> Move:
    """``@champion`` := ``@challenger``, the old champion recorded on the new one; no challenger."""
    before = aliases(client, name)
    challenger = before.get(CHALLENGER)
    if challenger is None:
        raise RoadmapError(
            f"{name} has no @challenger to promote; "
            f"set one with `roadmap models challenge {name} VERSION`",
            exit_code=2,
        )
    old = before.get(CHAMPION)
    if old is not None:
        client.set_model_version_tag(name, challenger, PREVIOUS_CHAMPION, old)
    client.set_registered_model_alias(name, CHAMPION, challenger)
    client.delete_registered_model_alias(name, CHALLENGER)
    return Move(name, CHAMPION, old, challenger)


def demote(client: Any, name: str) -> Move:
    """Drop ``@challenger`` (the candidate is rejected); ``@champion`` is untouched."""
    before = aliases(client, name).get(CHALLENGER)
    if before is None:
        raise RoadmapError(f"{name} has no @challenger to demote", exit_code=2)
    client.delete_registered_model_alias(name, CHALLENGER)
    return Move(name, CHALLENGER, before, None)


def rollback(client: Any, name: str) -> Move:
    """``@champion`` := the version the current champion replaced; the current one is tagged.

    A one-line error when there is no champion, or when it replaced nothing
    (the first champion of a model has no predecessor to return to).
    """
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise RoadmapError(f"{name} has no @champion to roll back", exit_code=2)
    previous = client.get_model_version(name, current).tags.get(PREVIOUS_CHAMPION)
    if not previous:
        raise RoadmapError(
            f"{name} v{current} replaced no earlier champion; nothing to roll back to", exit_code=2
        )
    try:
        client.get_model_version(name, previous)
    except _exception():
        raise RoadmapError(
            f"{name} v{current} replaced v{previous}, which no longer exists in the registry"
        ) from None
    stamp = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_model_version_tag(name, current, DEMOTED, f"rolled back to v{previous} at {stamp}")
    return Move(name, CHAMPION, current, previous)
