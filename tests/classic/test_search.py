"""The search library: the grid's size and levels, resumable shared studies, best-so-far curves.

The scorer is replaced by a cheap deterministic function of the trial's
parameters wherever the test is about the search machinery, not LightGBM, so
each test runs in about a second and counts exactly how often it was called.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from ai_roadmap.classic import search
from ai_roadmap.classic.search import (
    Dimension,
    Range,
    StudySpec,
    grid_points,
    grid_shape,
    run_search,
)
from ai_roadmap.config import compose, typed
from ai_roadmap.errors import RoadmapError

SPACE = (
    Dimension("learning_rate", 0.01, 0.3, log=True),
    Dimension("num_leaves", 4, 64, log=True, integer=True),
)


def peak_at(params: dict[str, Any]) -> float:
    """A smooth fake score with its maximum at learning_rate 0.05, num_leaves 16."""
    return (
        -((math.log(params["learning_rate"] / 0.05)) ** 2)
        - math.log(params["num_leaves"] / 16) ** 2
    )


def counting_objective(space: tuple[Dimension, ...]) -> tuple[Callable[[Any], float], list[dict]]:
    calls: list[dict] = []

    def objective(trial: Any) -> float:
        params = {d.name: d.suggest(trial) for d in space}
        calls.append(params)
        return peak_at(params)

    return objective, calls


def spec(tmp_path: Path, budget: int, name: str = "t", **kw: Any) -> StudySpec:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    return StudySpec(SPACE, budget, storage, name, seed=0, n_startup_trials=3, **kw)


# ------------------------------------------------------------------ the grid


@pytest.mark.parametrize(
    ("budget", "dims", "shape"),
    [(16, 2, (4, 4)), (36, 4, (3, 3, 2, 2)), (16, 3, (4, 2, 2)), (81, 4, (3, 3, 3, 3)),
     (12, 2, (4, 3)), (7, 3, (7, 1, 1)), (8, 4, (2, 2, 2, 1)), (1, 2, (1, 1))],
)  # fmt: skip
def test_grid_shape_is_the_most_even_factorisation(
    budget: int, dims: int, shape: tuple[int, ...]
) -> None:
    assert grid_shape(budget, dims) == shape


def test_grid_has_exactly_budget_points() -> None:
    for budget, dims in itertools.product(range(1, 65), range(1, 5)):
        shape = grid_shape(budget, dims)
        assert math.prod(shape) == budget and len(shape) == dims
    ranges = compose("s2.tuning", "quick").space
    space = search.dimensions({name: typed(r, Range) for name, r in ranges.items()})
    for budget in (8, 16, 36, 81):
        levels = grid_points(space, budget)
        points = set(itertools.product(*levels.values()))
        assert len(points) == budget
        for dim in space:
            assert all(dim.low <= v <= dim.high for v in levels[dim.name])


def test_levels_sit_at_cell_centres() -> None:
    assert Dimension("x", 0, 1).levels(4) == [0.125, 0.375, 0.625, 0.875]
    assert Dimension("x", 0, 1).levels(1) == [0.5]
    np.testing.assert_allclose(Dimension("lr", 0.01, 1, log=True).levels(2), [0.03162, 0.3162])
    assert Dimension("leaves", 4, 64, log=True, integer=True).levels(2) == [8, 32]
    with pytest.raises(ValueError, match="integer levels"):
        Dimension("k", 1, 3, integer=True).levels(5)
    with pytest.raises(ValueError, match="low > 0"):
        Dimension("lr", 0, 1, log=True)


def test_grid_study_evaluates_every_grid_point_once(tmp_path: Path) -> None:
    objective, _ = counting_objective(SPACE)
    trials, new = run_search("grid", objective, spec(tmp_path, 9))
    assert new == 9 and len(trials) == 9
    visited = {tuple(t.params[d.name] for d in SPACE) for t in trials}
    assert visited == set(itertools.product(*grid_points(SPACE, 9).values()))


# ------------------------------------------------------------------ storage and resumption


@pytest.mark.parametrize("method", ["random", "tpe"])
def test_larger_budget_runs_only_the_missing_trials(tmp_path: Path, method: str) -> None:
    objective, calls = counting_objective(SPACE)
    assert run_search(method, objective, spec(tmp_path, 4))[1] == 4
    trials, new = run_search(method, objective, spec(tmp_path, 6))
    assert len(calls) == 6 and new == 2
    assert [t.number for t in trials] == list(range(6))
    # the resumed sampler is reseeded: it does not replay the first draws
    assert len({tuple(p.values()) for p in calls}) == 6


@pytest.mark.parametrize("method", ["grid", "random", "tpe"])
def test_interrupted_study_resumes(tmp_path: Path, method: str) -> None:
    objective, calls = counting_objective(SPACE)

    def dies_on_third(trial: Any) -> float:
        if len(calls) == 2:
            raise KeyboardInterrupt
        return objective(trial)

    with pytest.raises(KeyboardInterrupt):
        run_search(method, dies_on_third, spec(tmp_path, 4))
    assert len(calls) == 2
    trials, new = run_search(method, objective, spec(tmp_path, 4))
    assert new == 2 and len(calls) == 4 and len(trials) == 4
    assert len({tuple(p.values()) for p in calls}) == 4  # no point evaluated twice
    if method == "grid":  # the point whose trial failed is retried
        assert {tuple(t.params.values()) for t in trials} == set(
            itertools.product(*grid_points(SPACE, 4).values())
        )
    assert run_search(method, objective, spec(tmp_path, 4))[1] == 0  # finished: re-read only
    assert len(calls) == 4


def test_two_workers_share_one_study(tmp_path: Path) -> None:
    worker_a, calls_a = counting_objective(SPACE)
    worker_b, calls_b = counting_objective(SPACE)
    run_search("tpe", worker_a, spec(tmp_path, 3))
    # a second worker, its own Study object on the same storage, sees the first one's trials
    storage = spec(tmp_path, 3).storage
    assert len(optuna.load_study(study_name="t-tpe", storage=storage).trials) == 3
    trials, new = run_search("tpe", worker_b, spec(tmp_path, 5))
    assert (len(calls_a), len(calls_b), new) == (3, 2, 2)
    assert [t.number for t in trials] == list(range(5))
    # and two plain Optuna workers loading the same storage interleave their trials
    study_1 = optuna.load_study(study_name="t-tpe", storage=storage)
    study_2 = optuna.load_study(study_name="t-tpe", storage=storage)
    study_1.optimize(worker_a, n_trials=1)
    study_2.optimize(worker_b, n_trials=1)
    assert len(study_1.trials) == len(study_2.trials) == 7


def test_storage_defaults_under_roadmap_home(roadmap_home: Path) -> None:
    storage = search.default_storage()
    assert storage == f"sqlite:///{roadmap_home.resolve() / 'optuna.db'}"
    objective, _ = counting_objective(SPACE)
    run_search("random", objective, StudySpec(SPACE, 2, storage, "home", seed=0))
    assert (roadmap_home / "optuna.db").is_file()
    assert optuna.get_all_study_names(storage) == ["home-random"]


def test_study_made_for_another_experiment_is_refused(tmp_path: Path) -> None:
    objective, _ = counting_objective(SPACE)
    run_search("random", objective, spec(tmp_path, 2, key="space A"))
    run_search("random", objective, spec(tmp_path, 3, key="space A"))  # same key: grows
    with pytest.raises(RoadmapError, match="another space"):
        run_search("random", objective, spec(tmp_path, 4, key="space B"))


# ------------------------------------------------------------------ reading the results


def test_best_so_far_and_trials_to_reach() -> None:
    curve = search.best_so_far(np.array([0.6, 0.55, 0.8, 0.7, 0.9]))
    np.testing.assert_array_equal(curve, [0.6, 0.6, 0.8, 0.8, 0.9])
    assert search.trials_to_reach(curve, 0.8) == 3.0
    assert math.isnan(search.trials_to_reach(curve, 0.95))
    assert search.reach_level(0.9) == pytest.approx(0.5 + 0.99 * 0.4)


def test_quiet_optuna_restores_the_callers_level() -> None:
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        with search.quiet_optuna():
            assert optuna.logging.get_verbosity() == optuna.logging.WARNING
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(optuna.logging.INFO)
