"""Export the registry's ``@champion`` models into the folder the service reads.

The service itself never talks to MLflow (the serving image stays small): this
step, run by ``roadmap serve`` (or ``roadmap serve --export-only`` when building
an image), copies each champion's ``model/`` folder, writes its version and compiles its
fast path (:mod:`ai_roadmap.serving.fast`).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving import SERVED_MODELS
from ai_roadmap.serving.fast.compile import export_fast_path
from ai_roadmap.settings import Settings


def export_champions(settings: Settings, names: list[str]) -> dict[str, str]:
    """Copy each named model's champion into ``settings.model_dir/<name>``; name → version."""
    from ai_roadmap.tracking import champion_model_dir

    unknown = [n for n in names if n not in SERVED_MODELS]
    if unknown:
        raise RoadmapError(f"unknown model {unknown[0]!r}; servable: {', '.join(SERVED_MODELS)}", 2)
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    versions = {}
    for name in names:
        with tempfile.TemporaryDirectory(dir=settings.model_dir, prefix=f".{name}-") as tmp:
            folder, version = champion_model_dir(settings, SERVED_MODELS[name], Path(tmp) / "dl")
            (folder / "VERSION").write_text(f"{version}\n")
            export_fast_path(folder)  # NumPy steps beside the pipeline, when it compiles
            final = settings.model_dir / name
            if final.exists():
                shutil.rmtree(final)
            folder.replace(final)
        versions[name] = version
    return versions
