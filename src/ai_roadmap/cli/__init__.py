"""``roadmap``: the roadmap, where you stand, and every milestone one command away.

The commands live in :mod:`ai_roadmap.cli.roadmap` (list, show, run, status, tasks,
plan), :mod:`ai_roadmap.cli.tools` (check, serve, poem, data), :mod:`ai_roadmap.cli.ner`
(ner), :mod:`ai_roadmap.cli.multimodal` (search) and :mod:`ai_roadmap.cli.models`
(the registry's aliases). Start-up stays light:
only Typer, Rich and the YAML catalog are imported; scientific libraries and MLflow are
imported inside the commands that need them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from ai_roadmap.errors import RoadmapError

app = typer.Typer(
    help="The full-stack → AI algorithm engineer roadmap: list it, run its milestones, "
    "see where you stand.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain Click help: rendering it with Rich costs ~0.15 s of start-up
)
data_app = typer.Typer(
    help="Offline datasets: list the manifest, pull into ROADMAP_HOME/data.",
    rich_markup_mode=None,
)
app.add_typer(data_app, name="data")

F = TypeVar("F", bound=Callable[..., Any])


def _out() -> Console:
    return Console(soft_wrap=False)


def _err() -> Console:
    return Console(stderr=True)


def user_errors(func: F) -> F:
    """Turn a :class:`RoadmapError` (or Ctrl-C) into one line on stderr and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RoadmapError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing was recorded as finished", err=True)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _settings() -> Any:
    from ai_roadmap.settings import get_settings

    return get_settings()


def _records() -> dict[str, Any]:
    from ai_roadmap.tracking import latest_records

    return latest_records(_settings())


# the commands register themselves on ``app`` when imported
from ai_roadmap.cli import models as _models  # noqa: E402
from ai_roadmap.cli import multimodal as _multimodal  # noqa: E402
from ai_roadmap.cli import ner as _ner  # noqa: E402
from ai_roadmap.cli import roadmap as _roadmap  # noqa: E402
from ai_roadmap.cli import tools as _tools  # noqa: E402
from ai_roadmap.cli import vision as _vision  # noqa: E402

__all__ = ["_models", "_multimodal", "_ner", "_roadmap", "_tools", "_vision", "app", "main"]


def main() -> None:
    """Console entry point."""
    app(prog_name="roadmap")
