"""s3.optim — Momentum, AdamW, LARS and Lookahead checked against torch and their papers.

The optimisers live in :mod:`ai_roadmap.deep.optim`; this milestone runs the checks
(each a :class:`~ai_roadmap.milestones.s1.theory.CheckRecord`) and one comparison run:

1. ``sgd_torch``, ``heavy_ball_torch``, ``nesterov_torch``: :class:`Momentum` beside
   ``torch.optim.SGD`` (dampening and weight decay on, two parameter groups), and
   ``adamw_torch``, ``amsgrad_torch``: :class:`AdamW` beside ``torch.optim.AdamW`` —
   two copies of one float64 MLP, each stepped on its own gradients of the same
   mini-batches; error = max over steps and weights of |θ_ours − θ_torch|;
2. ``lars_hand``: :class:`LARS` against Algorithm 1 of You et al. computed in NumPy —
   gradients by hand-written backprop, trust ratios λ = η||w|| / (||g|| + β||w||)
   and updates — for a 2-layer net, with and without excluding the biases;
3. ``lookahead_hand``: :class:`Lookahead` around heavy-ball SGD against the same
   computation unrolled by hand (k fast steps, φ ← φ + α(θ − φ), θ ← φ), fast and
   slow weights compared after every step;
4. a comparison run: SGD, Momentum, Nesterov, AdamW, LARS, Lookahead(SGD) and
   Lookahead(Adam) train the same MLP from the same initialisation on the same
   mini-batches of the MNIST digits; their loss curves go into one PNG.

Each check takes the optimiser under test as an argument, so the tests can hand
it a deliberately wrong variant and watch the check fail.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.deep.optim import LARS, AdamW, Lookahead, Momentum
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

OptimiserFactory = Callable[..., torch.optim.Optimizer]

# ---------------------------------------------------------------- 1. step for step vs torch.optim


def small_mlp(seed: int, sizes: tuple[int, ...] = (6, 16, 3)) -> nn.Sequential:
    """A float64 tanh MLP whose initial weights depend only on ``seed``."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1]).double()


def two_groups(model: nn.Sequential, lr: float) -> list[dict[str, Any]]:
    """First layer at lr, the rest at lr / 2: the groups must be honoured separately."""
    first, rest = list(model[0].parameters()), list(model[1:].parameters())
    return [{"params": first}, {"params": rest, "lr": lr / 2}]


def check_torch_match(
    name: str,
    ours: OptimiserFactory,
    reference: OptimiserFactory,
    hyper: dict[str, Any],
    rng: np.random.Generator,
    steps: int = 200,
    batch_size: int = 16,
    tolerance: float = 1e-7,
) -> CheckRecord:
    """max over steps and weights of |θ_ours − θ_torch|, float64, same mini-batches.

    ``ours(groups, **hyper)`` and ``reference(groups, **hyper)`` take the same
    keyword arguments (our constructors mirror torch's).
    """
    x = torch.from_numpy(rng.standard_normal((256, 6)))
    y = torch.from_numpy(rng.standard_normal((256, 3)))
    seed = int(rng.integers(2**31))
    models = (small_mlp(seed), small_mlp(seed))
    optimisers = [
        make(two_groups(m, hyper["lr"]), **hyper)
        for make, m in zip((ours, reference), models, strict=True)
    ]
    worst = 0.0
    for _ in range(steps):
        batch = torch.from_numpy(rng.choice(len(x), batch_size, replace=False))
        for model, optimiser in zip(models, optimisers, strict=True):
            optimiser.zero_grad()
            nn.functional.mse_loss(model(x[batch]), y[batch]).backward()
            optimiser.step()
        gaps = [
            (a - b).detach().abs().max()
            for a, b in zip(*(m.parameters() for m in models), strict=True)
        ]
        worst = max(worst, float(max(gaps)))
    detail = f"{steps} steps, {hyper}, torch {torch.__version__}"
    return record(name, worst, tolerance, detail)


# ---------------------------------------------------------------- 2–3. by hand in NumPy

NumpyParams = dict[str, np.ndarray]


def tanh_net_data(rng: np.random.Generator, n: int = 32) -> tuple[np.ndarray, ...]:
    """x (n, 4), y (n, 2) and the initial W1 (5, 4), b1 (5,), W2 (2, 5), b2 (2,)."""
    sizes = ((n, 4), (n, 2), (5, 4), (5,), (2, 5), (2,))
    return tuple(rng.standard_normal(shape) for shape in sizes)


def tanh_net_grads(p: NumpyParams, x: np.ndarray, y: np.ndarray) -> NumpyParams:
    """Backprop by hand for L = mean((W2 tanh(W1 x + b1) + b2 − y)²) over all n·2 entries."""
    h = np.tanh(x @ p["W1"].T + p["b1"])  # (n, 5)
    d_out = 2.0 * (h @ p["W2"].T + p["b2"] - y) / y.size  # ∂L/∂out, (n, 2)
    d_z = (d_out @ p["W2"]) * (1.0 - h**2)  # through tanh' = 1 − tanh², (n, 5)
    return {"W1": d_z.T @ x, "b1": d_z.sum(0), "W2": d_out.T @ h, "b2": d_out.sum(0)}


def torch_tanh_net(p: NumpyParams) -> tuple[nn.Sequential, list[str]]:
    """The same net as an ``nn.Sequential`` (float64) and its parameter names in order."""
    net = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    with torch.no_grad():
        for layer, key in ((net[0], "1"), (net[2], "2")):
            layer.weight.copy_(torch.from_numpy(p["W" + key]))
            layer.bias.copy_(torch.from_numpy(p["b" + key]))
    return net, ["W1", "b1", "W2", "b2"]


def lars_by_hand(
    p: NumpyParams, x: np.ndarray, y: np.ndarray, steps: int, hyper: dict[str, Any]
) -> list[tuple[NumpyParams, dict[str, float]]]:
    """Algorithm 1 of You et al. step by step: (weights, trust ratios) after each step."""
    p = {k: v.copy() for k, v in p.items()}
    velocity = {k: np.zeros_like(v) for k, v in p.items()}
    history = []
    for _ in range(steps):
        grads, ratios = tanh_net_grads(p, x, y), {}
        for key, w in p.items():
            excluded = hyper["exclude_1d"] and w.ndim == 1
            beta = 0.0 if excluded else hyper["weight_decay"]
            w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(grads[key])
            ratios[key] = 1.0
            if not excluded:
                ratios[key] = hyper["trust_coefficient"] * w_norm / (g_norm + beta * w_norm)
            local = hyper["lr"] * ratios[key] * (grads[key] + beta * w)
            velocity[key] = hyper["momentum"] * velocity[key] + local
            p[key] = w - velocity[key]
        history.append(({k: v.copy() for k, v in p.items()}, ratios))
    return history


def check_lars_hand(
    rng: np.random.Generator,
    steps: int = 3,
    hyper: dict[str, Any] | None = None,
    lars: OptimiserFactory = LARS,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |w_ours − w_hand| and |λ_ours − λ_hand| over steps and layers, biases in and out."""
    hyper = hyper or dict(lr=0.5, momentum=0.9, weight_decay=0.01, trust_coefficient=0.02)
    x, y, *weights = tanh_net_data(rng)
    start = dict(zip(["W1", "b1", "W2", "b2"], weights, strict=True))
    worst = 0.0
    for exclude_1d in (False, True):
        settings = dict(hyper, exclude_1d=exclude_1d)
        net, names = torch_tanh_net(start)
        optimiser = lars(net.parameters(), eps=0.0, **settings)
        for hand, hand_ratios in lars_by_hand(start, x, y, steps, settings):
            optimiser.zero_grad()
            nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
            optimiser.step()
            for name, param in zip(names, net.parameters(), strict=True):
                ratio = optimiser.state[param].get("trust_ratio", np.nan)
                weight_gap = np.max(np.abs(param.detach().numpy() - hand[name]))
                worst = max(worst, float(weight_gap), abs(ratio - hand_ratios[name]))
    return record("lars_hand", worst, tolerance, f"{steps} steps, {hyper}, biases in and out")


def lookahead_by_hand(
    p: NumpyParams, x: np.ndarray, y: np.ndarray, steps: int, hyper: dict[str, Any]
) -> list[tuple[NumpyParams, NumpyParams]]:
    """Heavy-ball SGD inside Lookahead unrolled by hand: (fast, slow) after each step."""
    fast = {k: v.copy() for k, v in p.items()}
    slow = {k: v.copy() for k, v in p.items()}  # φ₀ = θ₀
    velocity: NumpyParams = {}
    history = []
    for t in range(1, steps + 1):
        grads = tanh_net_grads(fast, x, y)
        for key, g in grads.items():  # b ← g at the first step, then b ← μb + g
            velocity[key] = g if t == 1 else hyper["momentum"] * velocity[key] + g
            fast[key] = fast[key] - hyper["lr"] * velocity[key]
        if t % hyper["k"] == 0:
            for key in fast:
                slow[key] = slow[key] + hyper["alpha"] * (fast[key] - slow[key])
                fast[key] = slow[key].copy()
        history.append(
            ({k: v.copy() for k, v in fast.items()}, {k: v.copy() for k, v in slow.items()})
        )
    return history


def check_lookahead_hand(
    rng: np.random.Generator,
    hyper: dict[str, Any] | None = None,
    lookahead: OptimiserFactory = Lookahead,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |θ_ours − θ_hand| and |φ_ours − φ_hand| after every step of 2k + 1 steps."""
    hyper = hyper or dict(lr=0.1, momentum=0.9, k=3, alpha=0.5)
    x, y, *weights = tanh_net_data(rng)
    start = dict(zip(["W1", "b1", "W2", "b2"], weights, strict=True))
    net, names = torch_tanh_net(start)
    inner = Momentum(net.parameters(), lr=hyper["lr"], momentum=hyper["momentum"])
    optimiser = lookahead(inner, k=hyper["k"], alpha=hyper["alpha"])
    steps, worst = 2 * hyper["k"] + 1, 0.0
    for fast, slow in lookahead_by_hand(start, x, y, steps, hyper):
        optimiser.zero_grad()
        nn.functional.mse_loss(net(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        optimiser.step()
        for name, param in zip(names, net.parameters(), strict=True):
            ours_slow = optimiser.state[param]["slow"].numpy()
            gaps = (param.detach().numpy() - fast[name], ours_slow - slow[name])
            worst = max(worst, *(float(np.max(np.abs(gap))) for gap in gaps))
    return record("lookahead_hand", worst, tolerance, f"{steps} steps, {hyper}")


# ---------------------------------------------------------------- 4. comparison run


def build_optimiser(spec: dict[str, Any], params: Any) -> torch.optim.Optimizer:
    """An optimiser from a config entry ``{kind: momentum|adamw|lars|lookahead, ...}``."""
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "lookahead":
        inner = build_optimiser(spec.pop("inner"), params)
        return Lookahead(inner, **spec)
    if kind == "adamw" and "betas" in spec:
        spec["betas"] = tuple(spec["betas"])
    makers = {"momentum": Momentum, "adamw": AdamW, "lars": LARS}
    return makers[kind](params, **spec)


@dataclass
class Curve:
    """One optimiser's run: train loss per step, test loss at the evaluation steps."""

    train_loss: list[float]
    eval_steps: list[int]
    test_loss: list[float]
    test_accuracy: float
    seconds: float


def mnist_split(n_train: int, n_test: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Standardised flattened digits: x_train, y_train, x_test, y_test (float32, int64)."""
    from ai_roadmap.datasets.mnist import load_mnist

    images, labels = load_mnist()
    order = np.random.default_rng(seed).permutation(len(images))
    x = torch.from_numpy(images[order].reshape(len(images), -1) / 255.0).float()  # (N, 784)
    x = (x - x[:n_train].mean()) / x[:n_train].std()
    y = torch.from_numpy(labels[order].astype(np.int64))
    test = slice(n_train, n_train + n_test)
    return x[:n_train], y[:n_train], x[test], y[test]


def train_one(spec: dict[str, Any], data: tuple[torch.Tensor, ...], cfg: Any, seed: int) -> Curve:
    """Train the MLP from the seed's initialisation; batches are the same for every optimiser."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    sizes = [x_train.shape[1], *cfg.hidden, 10]
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    optimiser = build_optimiser(spec, model.parameters())
    batches = torch.Generator().manual_seed(seed)
    curve, started, step = Curve([], [], [], 0.0, 0.0), time.perf_counter(), 0
    for _ in range(cfg.epochs):
        for batch in torch.randperm(len(x_train), generator=batches).split(cfg.batch_size):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimiser.step()
            curve.train_loss.append(loss.item())
            step += 1
            if step % cfg.eval_every == 0:
                curve.eval_steps.append(step)
                curve.test_loss.append(evaluate(model, x_test, y_test)[0])
    curve.test_accuracy = evaluate(model, x_test, y_test)[1]
    curve.seconds = time.perf_counter() - started
    return curve


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) on (x, y)."""
    logits = model(x)
    return float(nn.functional.cross_entropy(logits, y)), float(
        (logits.argmax(1) == y).double().mean()
    )


def compare(cfg: Any, seed: int) -> dict[str, Curve]:
    """Every optimiser of ``cfg.optimisers`` on the same task; name → curve."""
    from omegaconf import OmegaConf

    data = mnist_split(cfg.n_train, cfg.n_test, seed)
    specs = OmegaConf.to_container(cfg.optimisers, resolve=True)
    return {name: train_one(spec, data, cfg, seed) for name, spec in specs.items()}


def plot_curves(curves: dict[str, Curve], cfg: Any, path: Path) -> Path:
    """Train loss (moving average) and test loss against the step, one line per optimiser."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    window = max(1, min(cfg.smooth, len(next(iter(curves.values())).train_loss)))
    for name, curve in curves.items():
        smooth = np.convolve(curve.train_loss, np.ones(window) / window, mode="valid")
        (line,) = left.plot(np.arange(window, len(curve.train_loss) + 1), smooth, label=name)
        right.plot(curve.eval_steps, curve.test_loss, "o-", ms=3, color=line.get_color())
    left.set(xlabel="step", ylabel="cross-entropy", yscale="log")
    left.set_title(f"train loss (mean of the last {window} mini-batches)")
    right.set(xlabel="step", title=f"test loss ({cfg.n_test} held-out digits)")
    left.legend(fontsize=8)
    fig.suptitle(
        f"MNIST digits, MLP 784-{'-'.join(map(str, cfg.hidden))}-10, {cfg.n_train} train, "
        f"batch {cfg.batch_size}, {cfg.epochs} epochs, same init and batches for all"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the milestone

TORCH_CASES: dict[str, tuple[OptimiserFactory, OptimiserFactory]] = {
    "sgd_torch": (Momentum, torch.optim.SGD),
    "heavy_ball_torch": (Momentum, torch.optim.SGD),
    "nesterov_torch": (Momentum, torch.optim.SGD),
    "adamw_torch": (AdamW, torch.optim.AdamW),
    "amsgrad_torch": (AdamW, torch.optim.AdamW),
}


def run_checks(cfg: Any) -> list[CheckRecord]:
    """Every check with the settings in ``cfg.checks``; each gets its own child of ``cfg.seed``."""
    from omegaconf import OmegaConf

    c = cfg.checks
    hypers = OmegaConf.to_container(c.torch_cases, resolve=True)
    names = [*TORCH_CASES, "lars_hand", "lookahead_hand"]
    seeds = np.random.SeedSequence(int(cfg.seed)).spawn(len(names))
    rngs = {n: np.random.default_rng(s) for n, s in zip(names, seeds, strict=True)}
    jobs: list[Callable[[], CheckRecord]] = [
        lambda name=name: check_torch_match(
            name, *TORCH_CASES[name], _tuples(hypers[name]), rngs[name], c.steps, c.batch_size,
            c.tolerance,
        )
        for name in TORCH_CASES
    ]  # fmt: skip
    jobs += [
        lambda: check_lars_hand(rngs["lars_hand"], c.lars_steps, dict(c.lars)),
        lambda: check_lookahead_hand(rngs["lookahead_hand"], dict(c.lookahead)),
    ]
    records = []
    for job in jobs:
        started = time.perf_counter()
        done = job()
        records.append(replace(done, seconds=time.perf_counter() - started))
    return records


def _tuples(hyper: dict[str, Any]) -> dict[str, Any]:
    """YAML lists → tuples (``betas``)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}


def run(cfg: Any) -> Result:
    """Checks (``checks_failed`` is the target, ≤ 0) and the MNIST comparison run."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    with torch_threads(int(cfg.threads)):  # tiny models: extra threads only add overhead
        records = run_checks(cfg)
        curves = compare(cfg.compare, int(cfg.seed))
    metrics, notes = summarise(records)
    tail = max(1, int(cfg.compare.smooth))
    for name, curve in curves.items():
        metrics[f"final_train_loss_{name}"] = float(np.mean(curve.train_loss[-tail:]))
        metrics[f"final_test_loss_{name}"] = curve.test_loss[-1] if curve.test_loss else np.nan
        metrics[f"test_accuracy_{name}"] = curve.test_accuracy
        notes.append(
            f"{name}: final train loss {metrics[f'final_train_loss_{name}']:.4f}, test accuracy "
            f"{curve.test_accuracy:.4f} ({curve.seconds:.1f} s)"
        )
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "optimiser_curves.png": plot_curves(curves, cfg.compare, out / "optimiser_curves.png"),
    }
    c = cfg.compare
    return Result(
        metrics,
        dataset=f"mnist 10k digits ({c.n_train} train / {c.n_test} test, seed {cfg.seed}) "
        "for the comparison; seeded synthetic data for the checks",
        proxy=False,
        artifacts=artifacts,
        params={"seed": int(cfg.seed), "checks": len(records), "torch": torch.__version__},
        notes=notes,
    )
