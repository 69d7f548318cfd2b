"""Bias–variance decomposition of the expected squared error, measured by simulation.

Setting: y = f(x) + ε with f(x) = sin(2πx) on [0, 1] and ε ~ N(0, σ²). A learner
trained on a random training set D gives h_D; at a fixed test point x, with a
fresh label y = f(x) + ε independent of D,

    E_{D,ε}[(h_D(x) − y)²] = (h̄(x) − f(x))² + E_D[(h_D(x) − h̄(x))²] + σ²,   h̄ = E_D h_D
                           =      bias²(x)     +        variance(x)         + noise.

Why it is exact in expectation: write h − y = (h − h̄) + (h̄ − f) + (f − y), square,
and take expectations. The cross terms vanish: E_D[h − h̄] = 0 by the definition of
h̄; E[(h − h̄)(f − y)] and E[(h̄ − f)(f − y)] are 0 because the test noise
f − y = −ε is independent of D and has mean 0.

The simulation replaces E_D by the mean over B training sets drawn afresh from the
known distribution (the "bootstrap" rounds) and h̄ by the sample mean of the h_b:

- the first cross term is zero *on the sample* too, since Σ_b (h_b − h̄) = 0, so
  mean_b (h_b − f)² = bias² + variance holds to round-off (check ``bv_identity``);
- the noise cross terms are only zero in expectation. On the sample, with the
  noise measured as mean (y_b − f)², the gap is c = 2·mean_{b,x}[(h_b − f)(f − y_b)],
  a mean of B·T terms that have mean 0 and are uncorrelated (independent over b;
  over x given h_b because the ε are independent), so its standard error is
  SE = 2·sd(z)/√(BT) with z = (h_b − f)(f − y_b). Check ``bv_decomposition`` asks
  |measured error − (bias² + variance + noise)| ≤ 4 SE at every complexity.

Bias² and variance are averaged over the T fixed test points. The learners:
least-squares polynomials of growing degree (NumPy, Legendre basis for conditioning)
and regression trees of growing depth (scikit-learn's ``DecisionTreeRegressor``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ai_roadmap.checks import CheckRecord, record


def target_function(x: np.ndarray) -> np.ndarray:
    """The known f(x) = sin(2πx)."""
    return np.sin(2.0 * np.pi * x)


@dataclass(frozen=True)
class Family:
    """Predictions of one model family: ``predictions[c, b, t]`` = h_b(x_t) at complexity c."""

    name: str
    complexities: tuple[int, ...]
    predictions: np.ndarray  # (C, B, T)


@dataclass(frozen=True)
class Simulation:
    """B training sets, their fits at T fixed test points, and B fresh test labels per point."""

    x_test: np.ndarray  # (T,)
    f_test: np.ndarray  # (T,)
    y_test: np.ndarray  # (B, T): f(x_t) + a fresh ε for every round b
    noise_sd: float
    families: tuple[Family, ...]


@dataclass(frozen=True)
class Decomposition:
    """The three terms, each averaged over the test points, one entry per complexity."""

    bias_sq: np.ndarray
    variance: np.ndarray
    noise: np.ndarray


def polynomial_predictions(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, degrees: tuple[int, ...]
) -> np.ndarray:
    """Least-squares polynomial of each degree, fitted on (x, y), evaluated at x_test: (C, T)."""
    u, u_test = 2.0 * x - 1.0, 2.0 * x_test - 1.0  # [0, 1] -> [-1, 1], where Legendre is stable
    return np.stack(
        [
            np.polynomial.legendre.legval(u_test, np.polynomial.legendre.legfit(u, y, d))
            for d in degrees
        ]
    )


def tree_predictions(
    x: np.ndarray, y: np.ndarray, x_test: np.ndarray, depths: tuple[int, ...]
) -> np.ndarray:
    """A regression tree of each maximum depth, fitted on (x, y), evaluated at x_test: (C, T)."""
    from sklearn.tree import DecisionTreeRegressor

    x2, x_test2 = x[:, None], x_test[:, None]  # (n,) -> (n, 1): one feature
    return np.stack(
        [
            DecisionTreeRegressor(max_depth=d, random_state=0).fit(x2, y).predict(x_test2)
            for d in depths
        ]
    )


def simulate(
    rng: np.random.Generator,
    n_train: int,
    n_test: int,
    noise_sd: float,
    rounds: int,
    degrees: tuple[int, ...],
    depths: tuple[int, ...],
) -> Simulation:
    """Draw ``rounds`` training sets of ``n_train`` points and fit every model to each."""
    if max(degrees) >= n_train:
        raise ValueError(f"degree {max(degrees)} needs more than {n_train} training points")
    x_test = np.linspace(0.05, 0.95, n_test)  # away from the ends, where polynomials swing
    f_test = target_function(x_test)
    poly = np.empty((len(degrees), rounds, n_test))
    tree = np.empty((len(depths), rounds, n_test))
    for b in range(rounds):
        x = rng.uniform(0.0, 1.0, n_train)
        y = target_function(x) + noise_sd * rng.standard_normal(n_train)
        poly[:, b] = polynomial_predictions(x, y, x_test, degrees)
        tree[:, b] = tree_predictions(x, y, x_test, depths)
    y_test = f_test + noise_sd * rng.standard_normal((rounds, n_test))
    families = (
        Family("polynomial degree", tuple(degrees), poly),
        Family("tree depth", tuple(depths), tree),
    )
    return Simulation(x_test, f_test, y_test, noise_sd, families)


def decompose(predictions: np.ndarray, f_test: np.ndarray, y_test: np.ndarray) -> Decomposition:
    """bias² = mean_t (h̄ − f)², variance = mean_{b,t} (h_b − h̄)², noise = mean_{b,t} (y_b − f)².

    ``predictions`` is (C, B, T); h̄ is its mean over b (the 1/B mean: it is the
    population variance of the B fits that makes the identity exact, not 1/(B − 1)).
    The plug-in bias² is itself biased upwards by variance/B on average (h̄ is a mean
    of B noisy fits), which is visible only where the variance is huge.
    """
    mean_fit = predictions.mean(axis=1)  # (C, T)
    bias_sq = np.mean((mean_fit - f_test) ** 2, axis=1)
    variance = np.mean((predictions - mean_fit[:, None, :]) ** 2, axis=(1, 2))
    noise = np.full(len(predictions), np.mean((y_test - f_test) ** 2))
    return Decomposition(bias_sq, variance, noise)


Decompose = Callable[[np.ndarray, np.ndarray, np.ndarray], Decomposition]


def check_identity(
    sim: Simulation, decompose_fn: Decompose = decompose, tolerance: float = 1e-10
) -> CheckRecord:
    """max over complexities of |mean_{b,t}(h_b − f)² − (bias² + variance)| / mean_{b,t}(h_b − f)².

    Exact on the sample (see the module docstring), so only round-off remains.
    """
    worst = 0.0
    for fam in sim.families:
        terms = decompose_fn(fam.predictions, sim.f_test, sim.y_test)
        measured = np.mean((fam.predictions - sim.f_test) ** 2, axis=(1, 2))
        worst = max(
            worst, float(np.max(np.abs(measured - terms.bias_sq - terms.variance) / measured))
        )
    rounds = sim.y_test.shape[0]
    return record("bv_identity", worst, tolerance, f"relative gap, B = {rounds} rounds")


def check_decomposition(
    sim: Simulation, decompose_fn: Decompose = decompose, standard_errors: float = 4.0
) -> CheckRecord:
    """max over complexities of |E(h − y)² − (bias² + variance + noise)| / SE, against 4.

    E(h − y)² is measured directly as mean_{b,t}(h_b(x_t) − y_b(x_t))²; SE is the
    standard error of the noise cross term 2·mean[(h_b − f)(f − y_b)].
    """
    worst, where = 0.0, ""
    rounds, n_test = sim.y_test.shape
    for fam in sim.families:
        terms = decompose_fn(fam.predictions, sim.f_test, sim.y_test)
        measured = np.mean((fam.predictions - sim.y_test) ** 2, axis=(1, 2))
        cross = (fam.predictions - sim.f_test) * (sim.f_test - sim.y_test)  # (C, B, T)
        se = 2.0 * cross.reshape(len(cross), -1).std(axis=1) / np.sqrt(rounds * n_test)
        gap = np.abs(measured - (terms.bias_sq + terms.variance + terms.noise)) / se
        if gap.max() >= worst:
            worst, where = float(gap.max()), f"{fam.name} {fam.complexities[int(gap.argmax())]}"
    detail = f"in standard errors; worst at {where}; B = {rounds}, T = {n_test}"
    return record("bv_decomposition", worst, standard_errors, detail)


def check_tradeoff(
    sim: Simulation, decompose_fn: Decompose = decompose, tolerance: float = 0.8
) -> CheckRecord:
    """The trade-off: bias² falls and variance grows from the simplest to the most complex model.

    error = max over families of max(bias²_last / bias²_first, variance_first / variance_last),
    so the direction alone would be error < 1; 0.8 asks for a 1.25-fold change at least,
    well outside the Monte Carlo noise of the terms. The weakest is the trees' variance:
    a stump is already unstable (its one split point jumps between training sets), so
    depth 1 → 8 only about doubles it, while the polynomials' terms move by 10–100×.
    """
    ratios = []
    for fam in sim.families:
        terms = decompose_fn(fam.predictions, sim.f_test, sim.y_test)
        ratios.append(terms.bias_sq[-1] / terms.bias_sq[0])
        ratios.append(terms.variance[0] / terms.variance[-1])
    detail = "bias² last/first, variance first/last: " + ", ".join(f"{r:.3g}" for r in ratios)
    return record("bv_tradeoff", max(ratios), tolerance, detail)
