"""Hydra composition of a milestone's config: ``conf/<id>/config.yaml`` + ``scale/<scale>.yaml``.

Each milestone folder holds ``config.yaml`` (the defaults, including ``seed``)
and one preset per scale under ``scale/``; command-line overrides use Hydra's
syntax (``model.C=0.5``, ``+new_key=1``). A milestone reads its composed config into
frozen dataclasses with :func:`typed` at the top of ``run``, so its code sees typed
values (``c.train.epochs``, an ``int``) and a wrong key or value is refused in one line.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

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


# ── a config section as a typed dataclass ────────────────────────────────────

T = TypeVar("T")
RUNNER_KEYS = ("scale", "output_dir")  # set by the runner on every config


def typed(section: Any, cls: type[T], where: str = "") -> T:
    """The dataclass ``cls`` built from a config section, each value converted to its field's type.

    Nested dataclass fields read nested sections; ``tuple[int, ...]``, ``list[str]``,
    ``dict[str, float]``, ``X | None``, ``Literal[...]`` and ``Path`` are converted and
    checked. A key ``cls`` does not declare, a missing key without a default or a value
    of the wrong type is a one-line :class:`UsageError` naming the key, so a typo in a
    YAML file or an override never goes unnoticed. At the top level the runner's own
    keys (``scale``, ``output_dir``) are skipped unless ``cls`` declares them.
    """
    values = _plain(section)
    if not isinstance(values, dict):
        raise UsageError(f"config {where or 'section'}: expected a mapping, got {values!r}")
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    skipped = RUNNER_KEYS if not where else ()
    unknown = [k for k in values if k not in names and k not in skipped]
    if unknown:
        raise UsageError(
            f"unknown config key {where}{unknown[0]}; {cls.__name__} takes: "
            + ", ".join(sorted(names))
        )
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in values:
            if f.default is MISSING and f.default_factory is MISSING:
                raise UsageError(f"config key {where}{f.name} is missing")
            continue
        kwargs[f.name] = _convert(values[f.name], hints[f.name], f"{where}{f.name}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # __post_init__ validation
        raise UsageError(f"config {where.rstrip('.') or cls.__name__}: {exc}") from None


def _plain(section: Any) -> Any:
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:  # a service reading a model folder needs no Hydra
        return section

    if isinstance(section, DictConfig | ListConfig):
        return OmegaConf.to_container(section, resolve=True)
    return section


_SCALARS: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    str: (str,),
    bool: (bool,),
}


def _convert(value: Any, hint: Any, key: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, key)
            except UsageError as exc:
                errors.append(str(exc))
        raise UsageError(errors[0])
    if origin is Literal:
        if value not in args:
            raise UsageError(
                f"config key {key}: {value!r} is not one of {', '.join(map(repr, args))}"
            )
        return value
    if is_dataclass(hint):
        return typed(value, hint, f"{key}.")  # type: ignore[arg-type]
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise UsageError(f"config key {key}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise UsageError(f"config key {key}: expected {len(args)} values, got {value!r}")
            pairs = enumerate(zip(args, value, strict=True))
            return tuple(_convert(v, a, f"{key}[{i}]") for i, (a, v) in pairs)
        item = args[0] if args else Any
        converted = [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if origin is tuple else converted
    if origin is dict:
        if not isinstance(value, dict):
            raise UsageError(f"config key {key}: expected a mapping, got {value!r}")
        kind = args[1] if args else Any
        return {str(k): _convert(v, kind, f"{key}.{k}") for k, v in value.items()}
    if hint is Path:
        if not isinstance(value, str | Path):
            raise UsageError(f"config key {key}: expected a path, got {value!r}")
        return Path(value).expanduser()
    if hint in _SCALARS:
        ok = isinstance(value, _SCALARS[hint]) and not (
            hint is not bool and isinstance(value, bool)
        )
        if not ok:
            raise UsageError(f"config key {key}: expected {hint.__name__}, got {value!r}")
        return hint(value)
    raise TypeError(f"config key {key}: typed() cannot read a field of type {hint!r}")
