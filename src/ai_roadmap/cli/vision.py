"""``roadmap detect``: boxes on your own picture with the registry's s4.detect detector."""

from __future__ import annotations

from pathlib import Path

import typer

from ai_roadmap.cli import _settings, app, user_errors
from ai_roadmap.errors import RoadmapError


@app.command()
@user_errors
def detect(
    image: Path = typer.Argument(..., metavar="IMAGE", help="a PNG or JPEG picture"),
    out: Path | None = typer.Option(None, "--out", help="where to write the picture with boxes"),
    conf: float = typer.Option(0.25, "--conf", min=0.0, max=1.0, help="lowest score shown"),
    model: Path | None = typer.Option(None, "--model", help="a model folder (default: registry)"),
) -> None:
    """Detect the s4.detect classes in IMAGE; write it with boxes and print the detections."""
    import os
    import tempfile

    import cv2

    from ai_roadmap.vision.detect.draw import draw_boxes
    from ai_roadmap.vision.detect.infer import detect_picture, read_picture

    picture = read_picture(image)
    target = out or image.with_name(f"{image.stem}_boxes.png")
    if target.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp"):
        raise RoadmapError(f"--out {target} must end in .png, .jpg or .bmp", exit_code=2)
    settings = _settings()
    with tempfile.TemporaryDirectory() as tmp:
        if model is None:
            from ai_roadmap.tracking import champion_model_dir

            folder, _ = champion_model_dir(settings, "s4.detect", Path(tmp))
        elif not (model / "detect.json").exists():
            raise RoadmapError(f"{model} is not an s4.detect model folder (no detect.json)")
        else:
            folder = model
        dets, classes = detect_picture(folder, picture, conf)
    drawn = draw_boxes(picture, dets, classes)
    partial = target.with_name(f".{target.name}.part{target.suffix}")
    if not cv2.imwrite(str(partial), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)):
        raise RoadmapError(f"could not write {target}; check the folder exists and is writable")
    os.replace(partial, target)
    for x1, y1, x2, y2, score, cls in dets:
        typer.echo(f"{classes[int(cls)]}\t{score:.3f}\t{x1:.0f}\t{y1:.0f}\t{x2:.0f}\t{y2:.0f}")
    typer.echo(f"{len(dets)} detections → {target}", err=True)
