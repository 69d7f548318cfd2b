"""s2.tuning — grid search, random search and Bayesian optimisation (Optuna TPE), side by side.

One experiment, three samplers (:mod:`ai_roadmap.classic.search`). Everything but
the way the next point is chosen is held fixed:

* the model: LightGBM's ``LGBMClassifier`` (fixed settings ``model``) behind a
  median imputer fitted per fold;
* the space: ``space``, e.g. ``learning_rate`` × ``num_leaves`` × ``min_child_samples``
  × ``reg_lambda``, each on a log scale; the grid gives the first ones more levels;
* the budget: ``budget`` trials per method;
* the folds: one ``StratifiedKFold(shuffle=True, random_state=seed)`` split list, made
  once and reused by every trial of every method; a trial's score is the mean
  ROC-AUC over those folds.

The data: Kaggle's 891 Titanic passengers (held out: titanic3's 418 labelled test
rows) or scikit-learn's breast-cancer set (held out: a stratified 25 %). Each
method's best parameters are refitted on all training rows and scored once on the
held-out rows, since the best of ``n`` noisy CV scores is biased upwards.

**Study names.** The default, ``s2.tuning-<key>-b<budget>-seed<seed>``, is
content-addressed: ``key`` hashes the config (all but :data:`NOT_HASHED`), the data
and the objective's version. Re-running a config resumes its own study (or, when
finished, re-reads it at no cost and reports the same figures); any change, a
larger budget included, starts a fresh study, so a figure never depends on which
runs came before. A fresh name on every run would throw away that resumption; one
fixed name would mix experiments. Setting ``study_name`` grows one study on
purpose: a larger budget then runs only the missing trials, and a study made
under another key is refused. The grid's name also carries its shape, as a grid
of another size is another set of points.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ai_roadmap.classic.search import (
    METHODS,
    MethodSummary,
    Range,
    StudySpec,
    TuningData,
    best_so_far,
    default_storage,
    dimensions,
    experiment_key,
    grid_shape,
    make_folds,
    make_objective,
    masked,
    open_storage,
    quiet_optuna,
    reach_level,
    run_search,
    summarise,
    trials_to_reach,
)
from ai_roadmap.config import typed
from ai_roadmap.errors import RoadmapError
from ai_roadmap.plots import figure
from ai_roadmap.result import Result

if TYPE_CHECKING:
    from omegaconf import DictConfig

# config keys left out of the experiment key: they do not change what a trial computes
NOT_HASHED = ("output_dir", "scale", "storage", "study_name", "budget")
TITANIC_FEATURES = "Pclass, Age, SibSp, Parch, Fare, IsFemale, Embarked one-hot (C, Q, S)"


@dataclass(frozen=True)
class CV:
    folds: int  # one StratifiedKFold(shuffle=True, random_state=seed) list for every trial


@dataclass(frozen=True)
class Model:
    """LGBMClassifier's fixed settings (the searched ones are in ``space``)."""

    n_estimators: int  # boosting rounds
    n_jobs: int  # threads per fit


@dataclass(frozen=True)
class TPE:
    n_startup_trials: int  # random trials before TPE starts modelling l(x)/g(x)


@dataclass(frozen=True)
class Config:
    seed: int  # folds, LightGBM and the three samplers
    data: Literal["titanic", "breast_cancer"]
    budget: int  # trials per method; the grid is built with exactly this many points
    cv: CV
    model: Model
    space: dict[str, Range]  # searched by all three methods, in this order
    tpe: TPE
    storage: str | None = None  # SQLAlchemy URL; None: sqlite:///<ROADMAP_HOME>/optuna.db
    study_name: str | None = None  # None: content-addressed (see the module docstring)


# ---------------------------------------------------------------------------
# The data
# ---------------------------------------------------------------------------


def titanic_matrix(frame: Any) -> np.ndarray:
    """Pclass, Age, SibSp, Parch, Fare, Sex, Embarked one-hot → ``(n, 9)`` float64.

    Stateless (nothing is learnt from the rows), so it cannot leak across folds;
    a missing Age or Fare stays NaN for the pipeline's median imputer.
    """
    numbers = frame[["Pclass", "Age", "SibSp", "Parch", "Fare"]].astype(float).to_numpy()
    female = (frame["Sex"] == "female").to_numpy(dtype=float)[:, None]
    ports = np.column_stack([(frame["Embarked"] == port).to_numpy(dtype=float) for port in "CQS"])
    return np.hstack([numbers, female, ports])  # (n, 5) + (n, 1) + (n, 3) -> (n, 9)


def load_data(name: str, seed: int) -> TuningData:
    """``titanic``: Kaggle's 891 training rows (held out: titanic3's 418 test rows);
    ``breast_cancer``: scikit-learn's 569 rows (held out: a stratified 25 %)."""
    if name == "titanic":
        from ai_roadmap.datasets.titanic import load_titanic

        t = load_titanic()
        return TuningData(
            titanic_matrix(t.train),
            t.train["Survived"].to_numpy(dtype=int),
            titanic_matrix(t.test),
            t.test_labels.to_numpy(dtype=int),
            f"titanic (kaggle train 891, features: {TITANIC_FEATURES}; "
            "held-out: titanic3's 418 labelled test passengers)",
        )
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split

        X, y = load_breast_cancer(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed
        )
        desc = "scikit-learn breast cancer (569 rows, 30 features; held-out: stratified 25 %)"
        return TuningData(X_tr, y_tr, X_te, y_te, desc)
    raise RoadmapError(f"s2.tuning: unknown data {name!r}; use titanic or breast_cancer")


# ---------------------------------------------------------------------------
# The studies
# ---------------------------------------------------------------------------


def config_key(cfg: DictConfig, data: TuningData) -> str:
    """The experiment key of a composed config: all its keys but :data:`NOT_HASHED`."""
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(config, dict)
    return experiment_key({str(k): v for k, v in config.items() if k not in NOT_HASHED}, data)


def default_study_name(c: Config, key: str) -> str:
    return f"s2.tuning-{key[:12]}-b{c.budget}-seed{c.seed}"


def study_spec(c: Config, key: str) -> tuple[StudySpec, str]:
    """The config's studies (storage opened) and the storage URL."""
    url = c.storage or default_storage()
    spec = StudySpec(
        space=dimensions(c.space),
        budget=c.budget,
        storage=open_storage(url),
        base_name=c.study_name or default_study_name(c, key),
        seed=c.seed,
        n_startup_trials=c.tpe.n_startup_trials,
        key=key,
    )
    return spec, url


# ---------------------------------------------------------------------------
# Tables, plot, figures and notes
# ---------------------------------------------------------------------------


def write_tables(summaries: list[MethodSummary], level: float, out: Path) -> dict[str, Path]:
    """``tuning_scores.csv`` (one row per method) and ``tuning_trials.csv`` (every trial)."""
    import pandas as pd

    scores = pd.DataFrame(
        {
            "method": s.method,
            "best_cv_auc": s.values.max(),
            "best_trial": s.best + 1,
            "trials_to_99pct_best_lift": trials_to_reach(best_so_far(s.values), level),
            "seconds": s.seconds.sum(),
            "test_auc_of_best": s.test_auc,
            "best_params": json.dumps(s.params[s.best], sort_keys=True),
        }
        for s in summaries
    )
    trials = pd.DataFrame(
        {"method": s.method, "trial": i + 1, "cv_auc": v, "seconds": s.seconds[i], **s.params[i]}
        for s in summaries
        for i, v in enumerate(s.values)
    )
    paths = {name: out / name for name in ("tuning_scores.csv", "tuning_trials.csv")}
    scores.to_csv(paths["tuning_scores.csv"], index=False, float_format="%.6f")
    trials.to_csv(paths["tuning_trials.csv"], index=False, float_format="%.6g")
    return paths


def plot_best_so_far(summaries: list[MethodSummary], level: float, path: Path) -> Path:
    """Best-so-far CV ROC-AUC against trial number; each trial's own score as a dot."""
    with figure(path, figsize=(7, 4.5), dpi=120) as (_, ax):
        styles = zip(("tab:blue", "tab:orange", "tab:green"), (3.2, 2.4, 1.4), strict=True)
        for s, (colour, width) in zip(summaries, styles, strict=False):
            t = np.arange(1, len(s.values) + 1)  # thinner lines on top: TPE's start = random's
            ax.step(t, best_so_far(s.values), where="post", color=colour, lw=width, label=s.method)
            ax.scatter(t, s.values, color=colour, alpha=0.3, s=12)
        ax.axhline(level, color="grey", linestyle=":", label="99 % of the best lift over 0.5")
        every = np.concatenate([s.values for s in summaries])
        ax.set_ylim(np.percentile(every, 10) - 0.005, every.max() + 0.005)  # worst 10 % off-chart
        ax.set(xlabel="trial", ylabel="mean CV ROC-AUC (line: best so far)")
        ax.set_title("grid vs random vs TPE: same model, budget and folds")
        ax.legend(loc="lower right")
    return path


def _notes(c: Config, spec: StudySpec, url: str, summaries: list[MethodSummary]) -> list[str]:
    shape = grid_shape(spec.budget, len(spec.space))
    dims = "; ".join(
        f"{d.name} {'int ' if d.integer else ''}[{d.low:g}, {d.high:g}]{' log' if d.log else ''}"
        for d in spec.space
    )
    notes = [
        f"Budget {spec.budget} trials per method, all scored on one {c.cv.folds}-fold "
        f"StratifiedKFold (shuffle, seed {spec.seed}); score = mean ROC-AUC over the folds.",
        f"Space: {dims}. LightGBM fixed: "
        + ", ".join(f"{k}={v}" for k, v in asdict(c.model).items())
        + ".",
        f"Grid {'x'.join(map(str, shape))} over {', '.join(d.name for d in spec.space)} "
        "(cell centres of each range; one level = the centre). TPE: Optuna TPESampler, first "
        f"{spec.n_startup_trials} trials random (the same draws as random search's).",
        "Trials to reach = first trial whose best so far is ≥ 0.5 + 0.99·(best − 0.5), "
        "best over all methods; a method missing from the metrics never reached it.",
        "Best-of-n CV scores are biased upwards (the max of noisy estimates); held-out AUC of "
        "each method's best: " + ", ".join(f"{s.method} {s.test_auc:.4f}" for s in summaries),
        f"Studies {spec.study_name('grid')}, …-random, …-tpe in {masked(url)}.",
    ]
    reused = [
        f"{s.method} {spec.budget - s.new_trials}" for s in summaries if s.new_trials < spec.budget
    ]
    if reused:
        notes.append("Trials read back from the studies, not evaluated now: " + ", ".join(reused))
    return notes


def _metrics(summaries: list[MethodSummary], level: float) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for s in summaries:
        metrics[f"{s.method}_best_cv_auc"] = float(s.values.max())
        reached = trials_to_reach(best_so_far(s.values), level)
        if not math.isnan(reached):  # NaN is not JSON: an unreached level is left out
            metrics[f"{s.method}_trials_to_99pct_best_lift"] = reached
        metrics[f"{s.method}_seconds"] = round(float(s.seconds.sum()), 3)
        metrics[f"{s.method}_test_auc"] = s.test_auc
    metrics["tpe_best_cv_score_minus_grid"] = (
        metrics["tpe_best_cv_auc"] - metrics["grid_best_cv_auc"]
    )
    return metrics


# ---------------------------------------------------------------------------
# The milestone
# ---------------------------------------------------------------------------


def run(cfg: DictConfig) -> Result:
    """Grid, random and TPE on one model, budget and fold list; scores side by side."""
    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    data = load_data(c.data, c.seed)
    fixed = asdict(c.model)
    folds = make_folds(data.y, c.cv.folds, c.seed)
    summaries = []
    with quiet_optuna():
        spec, url = study_spec(c, config_key(cfg, data))
        objective = make_objective(spec.space, data, folds, fixed, c.seed)
        for method in METHODS:
            trials, new = run_search(method, objective, spec)
            if len(trials) < spec.budget:
                raise RoadmapError(f"s2.tuning: {method} has {len(trials)} < {spec.budget} trials")
            summaries.append(summarise(method, trials, new, data, fixed, c.seed))
    level = reach_level(max(s.values.max() for s in summaries))
    artifacts = write_tables(summaries, level, out)
    artifacts["best_so_far.png"] = plot_best_so_far(summaries, level, out / "best_so_far.png")
    params = {
        "storage": masked(url),
        "study_base_name": spec.base_name,
        **{f"{s.method}_new_trials": s.new_trials for s in summaries},
        **{f"{s.method}_best_params": json.dumps(s.params[s.best]) for s in summaries},
    }
    return Result(
        _metrics(summaries, level),
        dataset=data.description,
        proxy=False,
        artifacts=artifacts,
        params=params,
        notes=_notes(c, spec, url, summaries),
    )
