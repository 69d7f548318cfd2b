"""``roadmap ner "文本"``: the entities the registry's s4.ner tagger finds in a text."""

from __future__ import annotations

import json

import typer

from ai_roadmap.cli import _settings, app, user_errors


@app.command()
@user_errors
def ner(
    text: str = typer.Argument(..., help="Chinese text, e.g. 鲁迅先生曾在北京大学任教"),
    as_json: bool = typer.Option(
        False, "--json", help='Print [{"text", "type", "start", "end"}, …] (end exclusive).'
    ),
    model: str | None = typer.Option(
        None, "--model", help="A model folder (default: the registry's s4.ner model)."
    ),
) -> None:
    """Find people (PER), places (LOC) and organisations (ORG) with the trained s4.ner tagger."""
    from pathlib import Path

    from ai_roadmap.extras import require

    require("nlp", "roadmap ner")
    from ai_roadmap.nlp.ner.tagger import Tagger, as_dicts, check_text, load_registered

    check_text(text)  # before loading anything: a bad text fails fast
    if model:
        tagger, about = Tagger.load(Path(model)), f"model folder {model}"
    else:
        tagger, version = load_registered(_settings())
        about = f"s4.ner version {version}"
    mentions = tagger.mentions(text)
    if as_json:
        typer.echo(json.dumps(as_dicts(mentions), ensure_ascii=False))
        return
    for m in mentions:
        typer.echo(f"{m.type}\t{m.start}-{m.end}\t{m.text}")
    if not mentions:
        typer.echo("(no entities found)")
    typer.echo(about, err=True)
