"""s2.theory — the stage-2 theory points as executable checks.

Each check puts a from-scratch routine (or a measured identity) beside an
independent route to the same quantity and returns a :class:`CheckRecord` (name,
measured error, tolerance, passed); the maths is in each topic's module:

- :mod:`~ai_roadmap.classic.bias_variance`: ``bv_identity`` (mean (h − f)² = bias² +
  variance, exact on the sample), ``bv_decomposition`` (measured E(h − y)² = bias² +
  variance + noise within 4 Monte Carlo standard errors), ``bv_tradeoff`` (bias² falls,
  variance grows with polynomial degree and tree depth);
- :mod:`~ai_roadmap.classic.regularisation`: ``ridge_sklearn``, ``lasso_sklearn``
  (closed-form ridge and coordinate-descent lasso vs scikit-learn, same objective
  scaling), ``l1_exact_zeros`` (lasso has exact zeros along its path, ridge never);
- :mod:`~ai_roadmap.classic.kernels`: ``poly_feature_map`` ((xᵀy + c)^d = ⟨φ(x), φ(y)⟩),
  ``krr_sklearn`` (RBF kernel ridge vs ``KernelRidge``), ``rff_convergence`` (random
  Fourier features approach kernel ridge at the 1/√D rate);
- :mod:`~ai_roadmap.classic.ensembles`: ``boosting_sklearn`` (vs
  ``GradientBoostingRegressor``, stage by stage), ``bagging_sklearn`` (test MSE vs
  ``BaggingRegressor`` within 4 SE), ``stacking_sklearn`` (vs ``StackingRegressor``).

The sizes come from ``conf/s2.theory`` (the scale sets sample sizes, simulation
rounds and repeats), read into :class:`Config`; every random draw descends from ``seed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from ai_roadmap.checks import CheckRecord, summarise, write_table
from ai_roadmap.classic import bias_variance as bv
from ai_roadmap.classic import ensembles as ens
from ai_roadmap.classic import kernels as ker
from ai_roadmap.classic import regularisation as reg
from ai_roadmap.config import typed
from ai_roadmap.plots import figure
from ai_roadmap.result import Result

CHECK_NAMES = (
    "bv_identity",
    "bv_decomposition",
    "bv_tradeoff",
    "ridge_sklearn",
    "lasso_sklearn",
    "l1_exact_zeros",
    "poly_feature_map",
    "krr_sklearn",
    "rff_convergence",
    "boosting_sklearn",
    "bagging_sklearn",
    "stacking_sklearn",
)


@dataclass(frozen=True)
class BiasVariance:
    """Training sets x ~ U[0, 1], y = sin(2πx) + ε, redrawn ``rounds`` times."""

    n_train: int
    n_test: int  # fixed test points, evenly spaced on [0.05, 0.95]
    noise_sd: float  # σ of ε
    rounds: int
    degrees: tuple[int, ...]  # least-squares polynomial degrees
    depths: tuple[int, ...]  # regression-tree max_depth


@dataclass(frozen=True)
class Regularisation:
    """Correlated Gaussian features, corr(x_i, x_j) = ρ^|i−j|, every third coefficient non-zero."""

    n_samples: int
    n_features: int
    correlation: float  # ρ
    noise_sd: float
    ridge_alpha: float  # α of ||r||² + α||w||², compared with sklearn Ridge
    lasso_fractions: tuple[float, ...]  # α / α_max where lasso is compared with sklearn Lasso
    n_alphas: int  # path points from α_max down to 1e-3 α_max


@dataclass(frozen=True)
class Poly:
    """(xᵀy + c)^d against its explicit feature map."""

    n_samples: int
    dim: int
    degree: int
    coef0: float


@dataclass(frozen=True)
class Kernels:
    """RBF kernel ridge on x ~ U[−1, 1]², y = sin(3x₁)cos(2x₂) + ε, and its Fourier features."""

    poly: Poly
    n_train: int
    n_test: int
    noise_sd: float
    gamma: float  # RBF exp(−γ||x − y||²)
    alpha: float  # ridge penalty λ of (K + λI)a = y
    rff_counts: tuple[int, ...]  # random Fourier feature counts D
    rff_repeats: int  # fresh feature draws per D
    rff_slack: float  # pass: gap(D_max)/gap(D_min) ≤ slack·√(D_min/D_max)


@dataclass(frozen=True)
class Ensembles:
    """Friedman #1 (10 features, 5 informative); bagging grows full trees."""

    n_train: int
    n_test: int
    noise_sd: float
    n_estimators: int  # trees in bagging and boosting
    learning_rate: float  # boosting shrinkage ν
    max_depth: int  # boosting tree depth
    bagging_repeats: int  # refits of ours and of BaggingRegressor for the MSE comparison
    stack_folds: int  # K of the out-of-fold predictions


@dataclass(frozen=True)
class Config:
    seed: int
    bias_variance: BiasVariance
    regularisation: Regularisation
    kernels: Kernels
    ensembles: Ensembles


@dataclass(frozen=True)
class Experiments:
    """The data and simulations the checks run on (kept for the plots)."""

    simulation: bv.Simulation
    regression: reg.RegressionData
    kernel: ker.KernelData
    fourier: ker.FourierCurve
    ensemble: ens.EnsembleData


def timed(job: Callable[[], Any]) -> tuple[Any, float]:
    """(job(), wall seconds)."""
    started = time.perf_counter()
    return job(), time.perf_counter() - started


def build_experiments(
    cfg: Config, rngs: dict[str, np.random.Generator]
) -> tuple[Experiments, dict[str, float]]:
    """Draw the data sets and run the two shared simulations (with their wall times)."""
    c_bv, c_reg, c_ker, c_ens = cfg.bias_variance, cfg.regularisation, cfg.kernels, cfg.ensembles
    sim, sim_seconds = timed(
        lambda: bv.simulate(
            rngs["bias_variance"], c_bv.n_train, c_bv.n_test, c_bv.noise_sd, c_bv.rounds,
            c_bv.degrees, c_bv.depths,
        )
    )  # fmt: skip
    kernel = ker.make_data(rngs["kernel_data"], c_ker.n_train, c_ker.n_test, c_ker.noise_sd)
    curve, curve_seconds = timed(
        lambda: ker.fourier_curve(
            kernel, c_ker.rff_counts, c_ker.rff_repeats, rngs["rff"],
            c_ker.gamma, c_ker.alpha,
        )
    )  # fmt: skip
    experiments = Experiments(
        simulation=sim,
        regression=reg.make_data(
            rngs["regression"], c_reg.n_samples, c_reg.n_features, c_reg.correlation, c_reg.noise_sd
        ),
        kernel=kernel,
        fourier=curve,
        ensemble=ens.make_data(rngs["ensemble"], c_ens.n_train, c_ens.n_test, c_ens.noise_sd),
    )
    return experiments, {"bv_identity": sim_seconds, "rff_convergence": curve_seconds}


def run_checks(cfg: Config) -> tuple[list[CheckRecord], Experiments]:
    """Run every check with the sizes in ``cfg``; each topic gets its own child of ``cfg.seed``.

    A shared simulation's time is added to the first check that uses it.
    """
    streams = ("bias_variance", "regression", "poly", "kernel_data", "rff", "ensemble", "bagging")
    seeds = np.random.SeedSequence(cfg.seed).spawn(len(streams))
    rngs = {name: np.random.default_rng(s) for name, s in zip(streams, seeds, strict=True)}
    exp, setup = build_experiments(cfg, rngs)
    c_reg, c_ker, c_ens, poly = cfg.regularisation, cfg.kernels, cfg.ensembles, cfg.kernels.poly
    jobs: list[Callable[[], CheckRecord]] = [
        lambda: bv.check_identity(exp.simulation),
        lambda: bv.check_decomposition(exp.simulation),
        lambda: bv.check_tradeoff(exp.simulation),
        lambda: reg.check_ridge_sklearn(exp.regression, c_reg.ridge_alpha),
        lambda: reg.check_lasso_sklearn(exp.regression, c_reg.lasso_fractions),
        lambda: reg.check_exact_zeros(exp.regression, c_reg.n_alphas),
        lambda: ker.check_polynomial_map(
            rngs["poly"], poly.n_samples, poly.dim, poly.degree, poly.coef0
        ),
        lambda: ker.check_kernel_ridge_sklearn(exp.kernel, c_ker.gamma, c_ker.alpha),
        lambda: ker.check_fourier_convergence(exp.fourier, c_ker.rff_slack),
        lambda: ens.check_boosting_sklearn(
            exp.ensemble, c_ens.n_estimators, c_ens.learning_rate, c_ens.max_depth, cfg.seed
        ),
        lambda: ens.check_bagging_sklearn(
            exp.ensemble, c_ens.n_estimators, c_ens.bagging_repeats, rngs["bagging"]
        ),
        lambda: ens.check_stacking_sklearn(exp.ensemble, c_ens.stack_folds),
    ]
    records = []
    for job in jobs:
        done, seconds = timed(job)
        records.append(replace(done, seconds=seconds + setup.get(done.name, 0.0)))
    return records, exp


# ---------------------------------------------------------------- plots


def plot_bias_variance(sim: bv.Simulation, path: Path) -> Path:
    """bias², variance, noise, their sum and the measured E(h − y)² against complexity."""
    with figure(path, ncols=len(sim.families), figsize=(11, 4), dpi=100) as (fig, axes):
        for ax, fam in zip(axes, sim.families, strict=True):
            terms = bv.decompose(fam.predictions, sim.f_test, sim.y_test)
            c = np.array(fam.complexities)
            measured = np.mean((fam.predictions - sim.y_test) ** 2, axis=(1, 2))
            total = terms.bias_sq + terms.variance + terms.noise
            ax.semilogy(c, terms.bias_sq, "o-", label="bias²")
            ax.semilogy(c, terms.variance, "s-", label="variance")
            ax.semilogy(c, terms.noise, "k:", label="noise")
            ax.semilogy(c, total, "-", lw=4, alpha=0.35, label="bias² + variance + noise")
            ax.semilogy(c, measured, "kx", label="measured E(h − y)²")
            ax.set(xlabel=fam.name, ylabel="squared error (mean over test points)")
            ax.legend(fontsize=8)
        rounds, n_test = sim.y_test.shape
        fig.suptitle(
            f"y = sin 2πx + ε, σ = {sim.noise_sd:g}: {rounds} training sets, {n_test} test points"
        )
    return path


def plot_regularisation(data: reg.RegressionData, n_alphas: int, path: Path) -> Path:
    """Lasso and ridge coefficient paths against the common penalty weight α / α_max."""
    fractions = np.logspace(0.3, -3.0, n_alphas)
    lasso_path, ridge_path = reg.paths(data, reg.lasso_alpha_max(data.x, data.y) * fractions)
    n, p = data.x.shape
    lasso_zeros = int(np.sum(lasso_path == 0.0, axis=1)[fractions < 1.0].max())
    with figure(path, ncols=2, figsize=(11, 4), dpi=100, sharey=True) as (fig, axes):
        for ax, coefs, title in (
            (axes[0], lasso_path, "lasso (L1): (1/2n)||r||² + α||w||₁"),
            (axes[1], ridge_path, "ridge (L2): (1/2n)||r||² + α||w||²  (Ridge α = 2nα)"),
        ):
            ax.semilogx(fractions, coefs)
            ax.axhline(0.0, color="k", lw=0.5)
            ax.axvline(1.0, color="k", ls=":", lw=0.8)
            ax.set(xlabel="α / α_max", title=title)
            ax.invert_xaxis()  # strong penalty on the left, weak on the right
        axes[0].set_ylabel("coefficient w_j")
        fig.suptitle(
            f"n = {n}, p = {p} correlated features — exact zeros below α_max: lasso up to "
            f"{lasso_zeros} of {p}, ridge {int(np.sum(ridge_path == 0.0))} on the whole path"
        )
    return path


def plot_fourier(curve: ker.FourierCurve, path: Path) -> Path:
    """RMS gap to exact kernel ridge against D (log–log), with the 1/√D reference."""
    reference = curve.errors[0] * np.sqrt(curve.counts[0] / curve.counts)
    with figure(path, figsize=(6, 4), dpi=100) as (_, ax):
        ax.errorbar(curve.counts, curve.errors, yerr=curve.spread, fmt="o-", label="RFF ridge")
        ax.loglog(curve.counts, reference, "k:", label="∝ 1/√D")
        ax.set(xlabel="random features D", ylabel="RMS |RFF ridge − kernel ridge|")
        ax.set_title("random Fourier features → RBF kernel ridge")
        ax.legend()
    return path


def plot_ensembles(data: ens.EnsembleData, c: Ensembles, seed: int, path: Path) -> Path:
    """Test MSE against the number of estimators for our bagging and boosting."""
    from sklearn.tree import DecisionTreeRegressor

    trees = ens.bagging_fit(data.x, data.y, c.n_estimators, np.random.default_rng(seed))
    boosted = ens.boosting_fit(data.x, data.y, c.n_estimators, c.learning_rate, c.max_depth, seed)
    single = DecisionTreeRegressor(random_state=seed).fit(data.x, data.y).predict(data.x_test)
    m = np.arange(1, c.n_estimators + 1)
    curves = (
        (ens.bagging_staged_predict(trees, data.x_test), "bagging (full-depth trees)"),
        (
            ens.boosting_staged_predict(boosted, data.x_test),
            f"boosting (depth {c.max_depth}, ν = {c.learning_rate:g})",
        ),
    )
    with figure(path, figsize=(7, 4), dpi=100) as (_, ax):
        for staged, label in curves:
            ax.plot(m, [ens.mse(data.y_test, p) for p in staged], label=label)
        ax.axhline(ens.mse(data.y_test, single), color="k", ls=":", label="one full-depth tree")
        ax.axhline(c.noise_sd**2, color="grey", ls="--", lw=0.8, label="noise σ²")
        ax.set(xlabel="number of estimators", ylabel="test MSE", yscale="log")
        ax.set_title(f"Friedman #1: {len(data.y)} train / {len(data.y_test)} test points")
        ax.legend()
    return path


# ---------------------------------------------------------------- the milestone


def run(cfg: DictConfig) -> Result:
    """Run every check; ``checks_failed`` is the target (≤ 0), ``err_<check>`` the errors."""
    import sklearn

    c = typed(cfg, Config)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    records, exp = run_checks(c)
    metrics, notes = summarise(records)
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "bias_variance.png": plot_bias_variance(exp.simulation, out / "bias_variance.png"),
        "regularisation_paths.png": plot_regularisation(
            exp.regression, c.regularisation.n_alphas, out / "regularisation_paths.png"
        ),
        "rff_convergence.png": plot_fourier(exp.fourier, out / "rff_convergence.png"),
        "ensembles_vs_estimators.png": plot_ensembles(
            exp.ensemble, c.ensembles, c.seed, out / "ensembles_vs_estimators.png"
        ),
    }
    return Result(
        metrics,
        dataset="synthetic (seeded)",
        proxy=False,
        artifacts=artifacts,
        params={"seed": c.seed, "checks": len(records), "sklearn": sklearn.__version__},
        notes=notes,
    )
