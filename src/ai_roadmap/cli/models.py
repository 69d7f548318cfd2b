"""``roadmap models``: the registry's versions and their ``@champion`` / ``@challenger`` aliases.

Works on whatever store the settings name: the SQLite file in ``ROADMAP_HOME`` or a
shared ``mlflow server`` (``ROADMAP_TRACKING_URI=http://…``). MLflow is imported inside
each command, so ``roadmap --help`` stays fast.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from ai_roadmap.cli import _out, _settings, app, user_errors

models_app = typer.Typer(
    help="Registered models: list versions, challenge, promote, demote, roll back, lineage.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(models_app, name="models")

ID = typer.Argument(..., metavar="ID", help="a registered model, e.g. s0.titanic")


def _client() -> Any:
    from ai_roadmap.tracking import client

    return client(_settings())[0]


def _moved(move: Any) -> None:
    before = "unset" if move.before is None else f"v{move.before}"
    after = "unset" if move.after is None else f"v{move.after}"
    typer.echo(f"{move.name}@{move.alias}: {before} -> {after}")


@models_app.command("list")
@user_errors
def list_models(
    name: str | None = typer.Argument(None, metavar="[ID]", help="one model's versions"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Registered models and their aliases, or one model's versions."""
    from dataclasses import asdict

    from ai_roadmap.mlops import registry

    client = _client()
    if name is None:
        rows = {n: registry.aliases(client, n) for n in registry.registered_names(client)}
        if as_json:
            typer.echo(json.dumps({"models": rows}))
            return
        table = Table(title="Registered models")
        for column in ("model", "@champion", "@challenger"):
            table.add_column(column, no_wrap=True)
        for model, found in rows.items():
            table.add_row(model, found.get("champion", "—"), found.get("challenger", "—"))
        _out().print(table)
        return
    versions = registry.list_versions(client, name)
    if as_json:
        typer.echo(json.dumps({"model": name, "versions": [asdict(v) for v in versions]}))
        return
    table = Table(title=name)
    for column in ("version", "aliases", "scale", "verdict", "created", "replaced", "run"):
        table.add_column(column, no_wrap=True)
    for v in versions:
        replaced = f"v{v.previous_champion}" if v.previous_champion else ""
        aliases = " ".join("@" + a for a in v.aliases) + (" (demoted)" if v.demoted else "")
        table.add_row(v.version, aliases, v.scale, v.verdict, v.created, replaced, v.run_id[:12])
    _out().print(table)


@models_app.command()
@user_errors
def challenge(name: str = ID, version: str = typer.Argument(..., metavar="VERSION")) -> None:
    """Point @challenger at a version."""
    from ai_roadmap.mlops.registry import set_challenger

    _moved(set_challenger(_client(), name, version))


@models_app.command()
@user_errors
def promote(name: str = ID) -> None:
    """Make @challenger the @champion (the old champion is recorded for rollback)."""
    from ai_roadmap.mlops.registry import promote as promote_challenger

    _moved(promote_challenger(_client(), name))


@models_app.command()
@user_errors
def demote(name: str = ID) -> None:
    """Drop @challenger without promoting it."""
    from ai_roadmap.mlops.registry import demote as drop_challenger

    _moved(drop_challenger(_client(), name))


@models_app.command()
@user_errors
def rollback(name: str = ID) -> None:
    """Move @champion back to the version it replaced."""
    from ai_roadmap.mlops.registry import rollback as roll_back

    _moved(roll_back(_client(), name))


@models_app.command()
@user_errors
def lineage(
    name: str = ID,
    ref: str = typer.Option("champion", "--ref", help="a version number or an alias"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """A version's run, git SHA, data hashes and model card."""
    from ai_roadmap.mlops.model_lineage import lineage as follow

    found = follow(_client(), name, ref)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), ensure_ascii=False))
        return
    aliases = " ".join("@" + a for a in found.aliases)
    typer.echo(f"{found.model} v{found.version} {aliases}".rstrip())
    typer.echo(f"  source:   {found.source}")
    typer.echo(f"  run:      {found.run_id} ({found.run_status}, {found.scale}, {found.verdict})")
    typer.echo(f"  git sha:  {found.git_sha or '—'}")
    typer.echo(f"  dataset:  {found.dataset or '—'}")
    for dataset, digest in found.data.items():
        typer.echo(f"  data:     {dataset} {digest}")
    card = found.card
    if card:
        typer.echo(
            f"  card:     {card.get('task')} of {card.get('target')!r}, {card.get('format')}"
        )
        for file, digest in card.get("files", {}).items():
            typer.echo(f"            {file} sha256 {digest[:16]}…")
    gaps = found.missing()
    typer.echo("  complete" if not gaps else f"  missing:  {', '.join(gaps)}")
