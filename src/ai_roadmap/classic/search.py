"""Hyperparameter search: a space, its grid, one CV objective and resumable Optuna studies.

Three samplers draw from the same space and maximise the same objective; only
the way the next point is chosen differs.

**Space.** A :class:`Dimension` per hyperparameter: a range ``[low, high]``,
searched uniformly in ``x`` or, with ``log``, in ``log x``; ``integer`` asks
``suggest_int``. A config describes one as a :class:`Range`.

**Grid.** ``budget = Π_i k_i`` with the most even factorisation into one factor
per dimension (smallest largest factor, then largest smallest factor; e.g. 16 in
two dimensions = 4×4, 36 in four = 3×3×2×2); dimension ``i`` gets ``k_i`` levels
at the centres of ``k_i`` equal cells of its (log) range, ``u_j = (j + ½)/k_i``,
so a dimension with one level sits at its centre. Larger factors go to the
dimensions listed first. The points are visited in a seeded random order.

**Random.** ``budget`` independent draws, log-uniform where ``log``. With ``n``
trials a grid tries only ``n^(1/d)`` values of each dimension while random
search tries ``n``; when few dimensions matter that is why random wins
(Bergstra & Bengio 2012, JMLR 13). At least one of ``n`` random trials lands in the
best fraction ``q`` of the space with probability ``1 − (1 − q)^n`` (q = 5 %, n = 60: 95 %).

**TPE** (Bergstra et al. 2011, NeurIPS). After ``n_startup_trials`` random
trials, split the trials at the ``γ``-quantile of their scores into good and bad,
fit Parzen densities ``l(x)`` (good) and ``g(x)`` (bad), and propose the
candidate maximising ``l(x) / g(x)``, which is monotone in expected improvement.
Optuna's sampler is multivariate (one joint density) by default. With the same
seed its random start draws exactly what random search draws, so the two curves
coincide for ``n_startup_trials`` trials and any gap after that is TPE's modelling.

**Objective.** A median imputer (fitted per fold) → LightGBM's ``LGBMClassifier``;
a trial's score is the mean ROC-AUC over one fold list made once and shared by
every trial of every method (:func:`make_folds`, :func:`cv_auc`).

**Storage.** Each method is an Optuna study in RDB storage (default
``sqlite:///<ROADMAP_HOME>/optuna.db``; a shared SQLAlchemy URL such as PostgreSQL lets
workers on several machines run one study), opened with ``load_if_exists=True``
and run until it holds ``budget`` complete trials (:func:`run_search`): an
interrupted run, or a second worker, evaluates only the missing ``budget − n_complete``.
A study remembers the :func:`experiment_key` it was made under and refuses another,
so two experiments never mix in one study. A resumed sampler is seeded with
``seed + trials already in the study`` so that it does not replay its draws.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ai_roadmap.errors import RoadmapError
from ai_roadmap.settings import get_settings

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage
    from optuna.study import Study
    from optuna.trial import FrozenTrial, Trial
    from sklearn.pipeline import Pipeline

METHODS = ("grid", "random", "tpe")
OBJECTIVE_VERSION = 1  # bump when the objective's code changes: old studies are then not reused
REACH = 0.99  # "trials to reach": 99 % of the best's lift over chance (AUC 0.5)


# ---------------------------------------------------------------------------
# The search space and its grid
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter's range; ``log`` searches ``log x`` uniformly."""

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"{self.name}: low {self.low} must be below high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"{self.name}: a log range needs low > 0, got {self.low}")

    def suggest(self, trial: Trial) -> float | int:
        """Ask the trial's sampler for a value (the same call for all three methods)."""
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def levels(self, k: int) -> list[float | int]:
        """``k`` grid values at the cell centres ``u_j = (j + ½)/k`` of the (log) range."""
        u = (np.arange(k) + 0.5) / k
        if self.log:
            values = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            values = self.low + u * (self.high - self.low)
        if not self.integer:
            return [float(f"{v:.4g}") for v in values]
        ints: list[float | int] = [round(float(v)) for v in values]
        if len(set(ints)) < k:
            raise ValueError(
                f"{self.name}: {k} integer levels do not fit in [{self.low}, {self.high}]"
            )
        return ints


@dataclass(frozen=True)
class Range:
    """A config's ``{low, high, log, integer}`` for one hyperparameter (named by its key)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False


def dimensions(space: Mapping[str, Range]) -> tuple[Dimension, ...]:
    """``{name: Range}`` → dimensions, in the mapping's order (the grid's order)."""
    return tuple(Dimension(str(name), r.low, r.high, r.log, r.integer) for name, r in space.items())


def _factorisations(n: int, parts: int, largest: int) -> Iterator[tuple[int, ...]]:
    """Non-increasing tuples of ``parts`` factors, each ≤ ``largest``, whose product is ``n``."""
    if parts == 1:
        if n <= largest:
            yield (n,)
        return
    for factor in range(min(n, largest), 0, -1):
        if n % factor == 0:
            for rest in _factorisations(n // factor, parts - 1, factor):
                yield (factor, *rest)


def grid_shape(budget: int, n_dims: int) -> tuple[int, ...]:
    """Levels per dimension with product ``budget``: the most even factorisation."""
    if budget < 1 or n_dims < 1:
        raise ValueError(f"need budget ≥ 1 and at least one dimension, got {budget}, {n_dims}")
    return min(_factorisations(budget, n_dims, budget), key=lambda s: (s[0], -s[-1]))


def grid_points(space: tuple[Dimension, ...], budget: int) -> dict[str, list[float | int]]:
    """Optuna ``GridSampler`` search space: the levels of each dimension (``budget`` points)."""
    shape = grid_shape(budget, len(space))
    return {dim.name: dim.levels(k) for dim, k in zip(space, shape, strict=True)}


# ---------------------------------------------------------------------------
# Data, folds and the objective
# ---------------------------------------------------------------------------


@dataclass
class TuningData:
    X: np.ndarray  # (n, d) float64, NaN where a value is missing
    y: np.ndarray  # (n,) 0/1
    X_test: np.ndarray  # held out: scored once per method, never tuned on
    y_test: np.ndarray
    description: str


def make_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The one split list every trial of every method is scored on."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y))


def make_model(params: Mapping[str, Any], fixed: Mapping[str, Any], seed: int) -> Pipeline:
    """Median imputer → ``LGBMClassifier(**fixed, **params)``, deterministic per thread count."""
    from lightgbm import LGBMClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    booster = LGBMClassifier(
        **dict(fixed),
        **dict(params),
        random_state=seed,
        deterministic=True,
        force_col_wise=True,
        verbose=-1,
    )
    return make_pipeline(SimpleImputer(strategy="median"), booster)


def cv_auc(
    model: Pipeline, X: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> float:
    """Mean ROC-AUC over the folds: ``(1/K) Σ_k AUC(y[test_k], p̂_k)``, one fresh fit per fold."""
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score

    scores = []
    for train, test in folds:
        fitted = clone(model).fit(X[train], y[train])
        scores.append(roc_auc_score(y[test], fitted.predict_proba(X[test])[:, 1]))
    return float(np.mean(scores))


def make_objective(
    space: tuple[Dimension, ...],
    data: TuningData,
    folds: list[tuple[np.ndarray, np.ndarray]],
    fixed: Mapping[str, Any],
    seed: int,
) -> Callable[[Trial], float]:
    """The function all three samplers maximise: a trial's params → mean CV ROC-AUC."""

    def objective(trial: Trial) -> float:
        params = {dim.name: dim.suggest(trial) for dim in space}
        return cv_auc(make_model(params, fixed, seed), data.X, data.y, folds)

    return objective


# ---------------------------------------------------------------------------
# Studies in RDB storage
# ---------------------------------------------------------------------------


def default_storage() -> str:
    """``sqlite:///<ROADMAP_HOME>/optuna.db`` (the folder is created with the first study)."""
    return f"sqlite:///{get_settings().home_dir / 'optuna.db'}"


def open_storage(url: str) -> BaseStorage:
    """One RDB storage (one connection pool) for all three studies of a run."""
    from optuna.storages import RDBStorage

    if not url.startswith("sqlite:///"):
        return RDBStorage(url)
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # a second worker may hold SQLite's write lock for a moment: wait rather than fail
    return RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 30}})


def masked(url: str) -> str:
    """The storage URL with any password hidden (for notes and MLflow params)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def experiment_key(settings: Mapping[str, Any], data: TuningData) -> str:
    """sha256 of what a trial computes: the settings that change it, the data, the code.

    ``settings`` is JSON-hashed with sorted keys, so the order of a config's keys
    does not matter; :data:`OBJECTIVE_VERSION` stands for the objective's code.
    """
    digest = hashlib.sha256(json.dumps(dict(settings), sort_keys=True, default=str).encode())
    for array in (data.X, data.y):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(f"objective v{OBJECTIVE_VERSION}".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class StudySpec:
    """Where the three studies live and how far to run them."""

    space: tuple[Dimension, ...]
    budget: int  # complete trials per method
    storage: str | BaseStorage  # a SQLAlchemy URL, or storage opened by :func:`open_storage`
    base_name: str  # the studies are <base_name>-grid-<shape>, -random, -tpe
    seed: int
    n_startup_trials: int = 10  # TPE's random start
    key: str | None = None  # experiment key: a study made under another key is refused

    def study_name(self, method: str) -> str:
        """A grid of another size is another set of points, so its shape is in the name."""
        if method == "grid":
            return f"{self.base_name}-grid-" + "x".join(
                map(str, grid_shape(self.budget, len(self.space)))
            )
        return f"{self.base_name}-{method}"


def make_sampler(method: str, spec: StudySpec, seed: int) -> BaseSampler:
    from optuna.samplers import GridSampler, RandomSampler, TPESampler

    if method == "grid":
        return GridSampler(grid_points(spec.space, spec.budget), seed=seed)
    if method == "random":
        return RandomSampler(seed=seed)
    if method == "tpe":  # its random start draws what RandomSampler(seed) draws: paired curves
        return TPESampler(seed=seed, n_startup_trials=spec.n_startup_trials)
    raise ValueError(f"unknown method {method!r}; use one of {METHODS}")


def _check_key(study: Study, spec: StudySpec) -> None:
    stored = study.user_attrs.get("experiment_key")
    if spec.key is None or stored == spec.key:
        return
    if stored is not None:
        raise RoadmapError(
            f"study {study.study_name!r} was made with another space, data or model; "
            "choose another study_name"
        )
    study.set_user_attr("experiment_key", spec.key)


def queue_grid(study: Study, spec: StudySpec) -> None:
    """Enqueue the grid points that no complete or waiting trial holds, in a seeded order.

    Optuna's ``GridSampler`` alone resumes badly: its point ids depend on its seed's
    shuffle and a failed point counts as visited. A queue retries exactly what is missing.
    """
    from optuna.trial import TrialState

    names = [d.name for d in spec.space]
    points = list(itertools.product(*grid_points(spec.space, spec.budget).values()))
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    held = {tuple(t.params[n] for n in names) for t in done}
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        held.add(tuple(t.system_attrs.get("fixed_params", {}).get(n) for n in names))
    for i in np.random.default_rng(spec.seed).permutation(len(points)):
        if points[i] not in held:
            study.enqueue_trial(dict(zip(names, points[i], strict=True)))


def run_search(
    method: str, objective: Callable[[Trial], float], spec: StudySpec
) -> tuple[list[FrozenTrial], int]:
    """Run ``method``'s study until it holds ``spec.budget`` complete trials.

    Returns the first ``budget`` complete trials by number, and how many were completed
    meanwhile (by this call, plus any worker running the same study at the same time).
    """
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    study = optuna.create_study(
        storage=open_storage(spec.storage) if isinstance(spec.storage, str) else spec.storage,
        study_name=spec.study_name(method),
        direction="maximize",
        load_if_exists=True,
    )
    _check_key(study, spec)

    def complete() -> list[FrozenTrial]:
        return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))

    before = len(complete())
    if before < spec.budget:
        if method == "grid":
            queue_grid(study, spec)
            study.sampler = make_sampler(method, spec, spec.seed)  # on-grid fallback only
        else:  # seed + history: a resumed sampler must not replay the draws it already made
            study.sampler = make_sampler(method, spec, spec.seed + len(study.trials))
        stop = MaxTrialsCallback(spec.budget, states=(TrialState.COMPLETE,))  # counts all workers
        study.optimize(objective, n_trials=spec.budget - before, callbacks=[stop])
    trials = sorted(complete(), key=lambda t: t.number)
    return trials[: spec.budget], len(complete()) - before


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial INFO lines off for the block; the caller's level restored after."""
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


# ---------------------------------------------------------------------------
# Reading the results
# ---------------------------------------------------------------------------


def best_so_far(values: np.ndarray) -> np.ndarray:
    """``b_t = max_{s ≤ t} v_s``: the curve each method is judged by."""
    return np.maximum.accumulate(np.asarray(values, dtype=float))


def reach_level(best: float, fraction: float = REACH) -> float:
    """``0.5 + fraction · (best − 0.5)``: AUC's floor is 0.5 (a random ranking), not 0.

    99 % of the raw AUC (0.863 for a best of 0.872) is met by almost any trial.
    """
    return 0.5 + fraction * (best - 0.5)


def trials_to_reach(curve: np.ndarray, level: float) -> float:
    """The first trial (1-based) whose best-so-far is ≥ ``level``; NaN when none is."""
    hits = np.flatnonzero(curve >= level)
    return float(hits[0] + 1) if hits.size else math.nan


@dataclass
class MethodSummary:
    method: str
    values: np.ndarray  # (budget,) CV ROC-AUC per trial, in trial order
    seconds: np.ndarray  # (budget,) each trial's duration (a resumed trial keeps its own)
    params: list[dict[str, Any]]  # each trial's hyperparameters
    new_trials: int  # evaluated in this run; the rest were read back from the study
    test_auc: float  # the best trial's params refitted on all training rows, held-out AUC

    @property
    def best(self) -> int:
        return int(np.argmax(self.values))


def summarise(
    method: str,
    trials: list[FrozenTrial],
    new: int,
    data: TuningData,
    fixed: Mapping[str, Any],
    seed: int,
) -> MethodSummary:
    """A method's trials, and its best params refitted on all training rows and scored held out."""
    from sklearn.metrics import roc_auc_score

    values = np.array([t.value for t in trials], dtype=float)
    seconds = np.array([t.duration.total_seconds() if t.duration else 0.0 for t in trials])
    params = [dict(t.params) for t in trials]
    model = make_model(params[int(np.argmax(values))], fixed, seed).fit(data.X, data.y)
    test_auc = float(roc_auc_score(data.y_test, model.predict_proba(data.X_test)[:, 1]))
    return MethodSummary(method, values, seconds, params, new, test_auc)
