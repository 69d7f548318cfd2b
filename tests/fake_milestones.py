"""Milestones used only by the runner tests (imported by module name from the catalog)."""

from __future__ import annotations

from pathlib import Path

from ai_roadmap.result import Result


def run(cfg):  # type: ignore[no-untyped-def]
    """Reports ``cfg.value`` as ``score``; ``cfg.proxy`` marks the dataset as a proxy."""
    out = Path(cfg.output_dir)
    (out / "figure.txt").write_text("a figure", encoding="utf-8")
    return Result(
        metrics={"score": float(cfg.value)},
        dataset="fake-proxy" if cfg.proxy else "fake",
        proxy=bool(cfg.proxy),
        artifacts={"figure.txt": out / "figure.txt"},
    )


def interrupted(cfg):  # type: ignore[no-untyped-def]
    """Writes an artefact, then is interrupted like a Ctrl-C."""
    (Path(cfg.output_dir) / "half.txt").write_text("half", encoding="utf-8")
    raise KeyboardInterrupt


def with_model(cfg):  # type: ignore[no-untyped-def]
    """Trains a tiny scikit-learn model and saves it with its card."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from ai_roadmap.models import ModelCard, infer_input_schema, save_model

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["a", "b", "a", "b"]})
    model = LogisticRegression().fit(frame[["x"]], [0, 0, 1, 1])
    card = ModelCard(
        name="t.model", task="classification", target="y", input_schema=infer_input_schema(frame)
    )
    folder = save_model(model, Path(cfg.output_dir) / "model", card)
    return Result(metrics={"score": float(cfg.value)}, dataset="fake", model_path=folder)
