"""``roadmap search "a red apple"``: the stamps whose pictures the s4.clip model finds nearest."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ai_roadmap.cli import _settings, app, user_errors


@app.command()
@user_errors
def search(
    query: str = typer.Argument(..., help='A text, e.g. "a red apple" (Chinese: 红苹果).'),
    k: int = typer.Option(5, "--k", "-k", min=1, help="How many images to list."),
    as_json: bool = typer.Option(
        False, "--json", help='Print [{"rank", "id", "score", "file", "caption_en", …}, …].'
    ),
    model: str | None = typer.Option(
        None, "--model", help="An s4.clip model folder (default: the registry's champion)."
    ),
) -> None:
    """Text → images: rank the indexed Tux Paint stamps by cosine with the query."""
    from ai_roadmap.errors import UsageError

    if not query.strip():
        raise UsageError('the query is empty: give a text, e.g. roadmap search "a red apple"')
    from ai_roadmap.extras import require

    require("multimodal", "roadmap search")
    from ai_roadmap.multimodal.clip.scorer import ClipScorer, load_clip_scorer

    if model:
        scorer, about = ClipScorer.from_folder(Path(model)), f"model folder {model}"
    else:
        scorer = load_clip_scorer(_settings())
        about = f"s4.clip version {scorer.version}"
    hits = scorer.search(query, k)
    root = _data_folder(scorer.index.dataset if scorer.index else "")
    rows = [
        {
            "rank": rank,
            "id": entry.id,
            "score": round(score, 4),
            "file": str(root / entry.file) if root else entry.file,
            "caption_en": entry.caption_en,
            "caption_zh": entry.caption_zh,
            "split": entry.split,
        }
        for rank, (entry, score) in enumerate(hits, start=1)
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['rank']}\t{r['score']:.4f}\t{r['id']}\t{r['file']}")
    typer.echo(f"{about} (text tower {scorer.model.cfg.text_tower})", err=True)


def _data_folder(name: str) -> Path | None:
    """The pulled dataset's folder (file paths are shown absolute), or None."""
    if not name:
        return None
    folder: Path = _settings().data_root / name
    return folder if folder.is_dir() else None
