"""The milestone contract: ``run(cfg) -> Result``.

A milestone is a pure function: data in, model + metrics out. It writes its
artefacts (plots, submissions, the model file) into ``cfg.output_dir``, a fresh
folder the runner owns, and never talks to the tracking store; the runner
compares the figures with the roadmap's target and records everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """What a milestone measured.

    metrics: figures computed at run time (the target's metric among them).
    dataset: the dataset actually used, e.g. ``"titanic (kaggle train 891 / test 418)"``.
    proxy: True when ``dataset`` is not the one the roadmap names (say which in ``dataset``).
    artifacts: files written under the run's output folder, by a short name.
    model_path: the persisted model, when the milestone trains one.
    params: extra parameters worth recording beside the config.
    notes: plain sentences shown with the result (e.g. what falls short and why).
    not_measured: set to a reason when the target's figure could not be measured.
    """

    metrics: dict[str, float]
    dataset: str
    proxy: bool = False
    artifacts: dict[str, Path] = field(default_factory=dict)
    model_path: Path | None = None
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    not_measured: str | None = None
