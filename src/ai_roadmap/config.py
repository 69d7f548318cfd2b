"""Hydra composition of a milestone's config: ``conf/<id>/config.yaml`` + ``scale/<scale>.yaml``.

Each milestone folder holds ``config.yaml`` (the defaults, including ``seed``)
and one preset per scale under ``scale/``; command-line overrides use Hydra's
syntax (``model.C=0.5``, ``+new_key=1``).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from ai_roadmap.errors import UsageError

SCALES = ("smoke", "quick", "full")


def conf_root() -> Path:
    return Path(str(resources.files("ai_roadmap").joinpath("conf")))


def compose(item_id: str, scale: str, overrides: list[str] | None = None) -> Any:
    """The composed config (an OmegaConf ``DictConfig``) or a one-line :class:`UsageError`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    if scale not in SCALES:
        raise UsageError(f"unknown scale {scale!r}; use one of {', '.join(SCALES)}")
    folder = conf_root() / item_id
    if not (folder / "config.yaml").exists():
        raise UsageError(f"{item_id} has no config in {folder}")
    try:
        with initialize_config_dir(config_dir=str(folder), version_base="1.3"):
            cfg = hydra_compose("config", overrides=[f"scale={scale}", *(overrides or [])])
    except Exception as exc:  # Hydra raises several exception types for bad overrides
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"bad override: {first}") from None
    OmegaConf.set_struct(cfg, False)
    cfg.scale = scale
    return cfg
