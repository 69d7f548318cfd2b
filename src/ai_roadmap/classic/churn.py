"""Churn prediction with LightGBM: splits, early-stopped fits, TPE tuning, lift and calibration.

**Splits** (:func:`split_table`). The table is split once, stratified on ``churn``:

* **test**: read once, at the end, for every reported test figure; nothing is
  chosen on it;
* **validation** (a fraction of the rest): early stopping of every LightGBM fit
  (``lgb.early_stopping`` on its AUC), the F1 threshold and the Platt calibration;
* **fit** (the remainder): the K-fold CV of the tuning and the final fit.

**LightGBM** (:func:`fit_lgbm`): :class:`~ai_roadmap.classic.churn_features.ChurnFeatures`
→ ``LGBMClassifier``, one pipeline that takes the raw columns. :func:`tune` runs
Optuna's TPE sampler (seeded, in-memory storage: a study here is a few minutes and
is not resumed) on the mean AUC over stratified folds of the fit rows; inside each
fold the model early-stops on the validation rows, so the rows a fold is scored on
never pick its number of trees.

**Figures.**

* ``auc_lift_pct = 100 · (AUC − AUC_base) / AUC_base``. It is bounded by
  ``100 · (1 − AUC_base) / AUC_base``: with a baseline at 0.83 an 8 % lift needs AUC 0.90.
* ``gini_lift_pct``: the same lift on ``Gini = 2·AUC − 1``, the AUC above chance.
* :func:`bootstrap_lift_ci`: 2.5 / 97.5 % percentiles of the lift over paired
  bootstrap resamples of the rows, each AUC by the Mann–Whitney statistic (:func:`rank_auc`).
* :func:`best_f1_threshold`: ``argmax_t F1(t)`` with ``F1 = 2PR / (P + R)``.
* :func:`platt`: Platt scaling ``p' = σ(a · logit p + b)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ai_roadmap.classic.churn_features import LABEL, ChurnFeatures
from ai_roadmap.classic.search import Dimension, quiet_optuna

if TYPE_CHECKING:
    from optuna.study import Study
    from sklearn.pipeline import Pipeline


# ---------------------------------------------------------------------------
# Splits
# ---------------------------------------------------------------------------


@dataclass
class Split:
    """Raw feature frames (the table less ``churn``) and 0/1 labels of the three parts."""

    X_fit: pd.DataFrame
    y_fit: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    X_test: pd.DataFrame
    y_test: np.ndarray


def split_table(frame: pd.DataFrame, test_size: float, val_size: float, seed: int) -> Split:
    """Stratified test split, then a stratified validation split of the rest."""
    from sklearn.model_selection import train_test_split

    X, y = frame.drop(columns=LABEL), frame[LABEL].to_numpy(dtype=int)
    X_dev, X_test, y_dev, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed
    )
    X_fit, X_val, y_fit, y_val = train_test_split(
        X_dev, y_dev, test_size=val_size, stratify=y_dev, random_state=seed
    )
    return Split(X_fit, y_fit, X_val, y_val, X_test, y_test)


# ---------------------------------------------------------------------------
# LightGBM: one early-stopped fit, the CV objective, the study
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Booster:
    """``LGBMClassifier``'s fixed settings (the searched ones come from the space)."""

    n_estimators: int  # upper bound on trees; early stopping picks the number
    early_stopping_rounds: int  # trees without a better validation AUC before stopping
    n_jobs: int  # threads per fit
    subsample_freq: int  # bag every k iterations (the fraction is searched)


@dataclass(frozen=True)
class FitOptions:
    """How every LightGBM fit is made: fixed settings, the features' one knob, the seed."""

    booster: Booster
    n_tenure_buckets: int
    seed: int


@dataclass(frozen=True)
class TPESearch:
    n_trials: int
    n_startup_trials: int  # random trials before TPE models l(x)/g(x)
    cv_folds: int  # stratified folds of the fit rows a trial is scored on


def fit_lgbm(
    X: pd.DataFrame,
    y: np.ndarray,
    X_val: pd.DataFrame,
    y_val: np.ndarray,
    params: Mapping[str, Any],
    options: FitOptions,
) -> Pipeline:
    """Features fitted on ``X`` → LightGBM early-stopped on the validation rows, as one pipeline."""
    import lightgbm as lgb
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    features = ChurnFeatures(n_tenure_buckets=options.n_tenure_buckets).fit(X)
    fixed = asdict(options.booster)
    patience = fixed.pop("early_stopping_rounds")
    model = LGBMClassifier(
        **fixed, **params, random_state=options.seed, deterministic=True, verbose=-1
    )
    model.fit(
        features.transform(X),
        y,
        eval_X=(features.transform(X_val),),
        eval_y=(y_val,),
        eval_metric="auc",
        callbacks=[lgb.early_stopping(patience, first_metric_only=True, verbose=False)],
    )
    # both steps are fitted; predict_proba uses the early-stopped best_iteration_
    return Pipeline([("features", features), ("lgbm", model)])


def cv_objective(
    split: Split, space: tuple[Dimension, ...], options: FitOptions, n_folds: int
) -> Any:
    """A trial's params → mean AUC over stratified folds of the fit rows."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(n_folds, shuffle=True, random_state=options.seed)
    splits = list(folds.split(split.X_fit, split.y_fit))

    def objective(trial: Any) -> float:
        params = {dim.name: dim.suggest(trial) for dim in space}
        scores, rounds = [], []
        for train, held in splits:
            X_train, y_train = split.X_fit.iloc[train], split.y_fit[train]
            pipe = fit_lgbm(X_train, y_train, split.X_val, split.y_val, params, options)
            p = pipe.predict_proba(split.X_fit.iloc[held])[:, 1]
            scores.append(roc_auc_score(split.y_fit[held], p))
            rounds.append(pipe[-1].best_iteration_)
        trial.set_user_attr("mean_best_iteration", float(np.mean(rounds)))
        return float(np.mean(scores))

    return objective


def tune(
    split: Split, space: tuple[Dimension, ...], options: FitOptions, search: TPESearch
) -> Study:
    """TPE seeded with ``options.seed``, ``search.n_trials`` trials over ``space``, in memory."""
    import optuna

    sampler = optuna.samplers.TPESampler(
        seed=options.seed, n_startup_trials=search.n_startup_trials
    )
    with quiet_optuna():
        study = optuna.create_study(direction="maximize", sampler=sampler)
        objective = cv_objective(split, space, options, search.cv_folds)
        study.optimize(objective, n_trials=search.n_trials)
    return study


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------


def auc_lift_pct(auc: Any, baseline_auc: Any) -> Any:
    """``100 · (AUC − AUC_base) / AUC_base``."""
    return 100.0 * (auc - baseline_auc) / baseline_auc


def gini_lift_pct(auc: float, baseline_auc: float) -> float:
    """The lift of ``Gini = 2·AUC − 1`` (AUC above chance), in percent."""
    return auc_lift_pct(2 * auc - 1, 2 * baseline_auc - 1)


def rank_auc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """ROC-AUC along the last axis by the Mann–Whitney statistic (ties count ½).

    ``AUC = (R₁ − n₁(n₁ + 1)/2) / (n₁ n₀)``, with ``R₁`` the sum of the average
    ranks of the positives' scores; ``y, p``: (..., n) → (...).
    """
    from scipy.stats import rankdata

    ranks = rankdata(p, axis=-1)
    n1 = y.sum(axis=-1)
    n0 = y.shape[-1] - n1
    r1 = (ranks * y).sum(axis=-1)
    return (r1 - n1 * (n1 + 1) / 2) / (n1 * n0)


def bootstrap_lift_ci(
    y: np.ndarray, p: np.ndarray, p_base: np.ndarray, n_resamples: int, seed: int
) -> tuple[float, float]:
    """2.5 / 97.5 % percentiles of ``auc_lift_pct`` over paired resamples of the rows."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(y), (n_resamples, len(y)))  # (B, n): one resample per row
    labels = y[rows]
    both = (labels.min(axis=1) == 0) & (labels.max(axis=1) == 1)  # AUC needs both classes
    rows, labels = rows[both], labels[both]
    lifts = auc_lift_pct(rank_auc(labels, p[rows]), rank_auc(labels, p_base[rows]))
    low, high = np.percentile(lifts, [2.5, 97.5])
    return float(low), float(high)


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """The threshold ``t`` maximising ``F1`` of ``p >= t`` on these rows, and that F1."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, p)
    # the last (precision, recall) pair has no threshold
    precision, recall = precision[:-1], recall[:-1]
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(precision),
        where=(precision + recall) > 0,
    )
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def platt(p_val: np.ndarray, y_val: np.ndarray) -> Any:
    """Platt scaling fitted on the validation rows: ``p ↦ σ(a · logit p + b)``."""
    from sklearn.linear_model import LogisticRegression

    def logit(p: np.ndarray) -> np.ndarray:
        q = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(q / (1 - q))[:, None]  # (n,) -> (n, 1)

    scaler = LogisticRegression(C=1e6, max_iter=1000).fit(logit(p_val), y_val)
    return lambda p: scaler.predict_proba(logit(p))[:, 1]
