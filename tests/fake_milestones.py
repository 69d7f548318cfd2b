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

    from ai_roadmap.artifacts import ModelCard, infer_input_schema, save_model

    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "colour": ["a", "b", "a", "b"]})
    model = LogisticRegression().fit(frame[["x"]], [0, 0, 1, 1])
    card = ModelCard(
        name="t.model", task="classification", target="y", input_schema=infer_input_schema(frame)
    )
    folder = save_model(model, Path(cfg.output_dir) / "model", card)
    return Result(metrics={"score": float(cfg.value)}, dataset="fake", model_path=folder)


def install(
    monkeypatch,  # type: ignore[no-untyped-def]
    conf: Path,
    runs: dict,  # type: ignore[type-arg]
    target,  # type: ignore[no-untyped-def]
    config_body: str,
) -> None:
    """Point the runner at a catalog of fake milestones, one Hydra config folder each.

    ``runs`` maps a milestone id to its ``run`` function; each becomes a module of its own.
    """
    import sys
    from types import ModuleType

    from ai_roadmap import config, runner
    from ai_roadmap.catalog import Catalog, Item, load_catalog

    real = load_catalog()
    items = []
    for item_id, run_function in runs.items():
        module_name = "fake_" + item_id.replace(".", "_")
        module = ModuleType(module_name)
        module.run = run_function  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module_name, module)
        items.append(
            Item(
                id=item_id,
                stage=0,
                kind="milestone",
                title_zh="假",
                title_en=item_id,
                target=target,
                module=module_name,
            )
        )
        folder = conf / item_id
        (folder / "scale").mkdir(parents=True)
        (folder / "config.yaml").write_text(
            "defaults:\n  - _self_\n  - scale: quick\nseed: 0\n" + config_body
        )
        for scale in config.SCALES:
            (folder / "scale" / f"{scale}.yaml").write_text("# @package _global_\n{}\n")
    fake = Catalog(
        real.stages, tuple(items), real.hours_per_week, real.part_time, real.full_time, ()
    )
    monkeypatch.setattr(runner, "load_catalog", lambda: fake)
    monkeypatch.setattr(config, "conf_root", lambda: conf)
