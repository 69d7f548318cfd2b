"""Regularisers for torch training, written from their definitions.

Inverted dropout (Srivastava et al., 2014). In training, every unit is kept with
probability 1 − p and the survivors are scaled by 1/(1 − p):

    y = x ⊙ m / (1 − p),   m_i ~ Bernoulli(1 − p)   ⇒   E[y_i] = x_i (1 − p)/(1 − p) = x_i.

Because the expectation already equals the input, evaluation is the identity: no
rescaling at test time (the original "scale the weights by 1 − p at test time" moved to
training). Each step trains a random thinned sub-network; the weights are shared, so the
net learns features that do not rely on particular co-adapted units.

Label smoothing (Szegedy et al., 2016). Cross-entropy against the mixed target

    q_k = (1 − ε) 1[k = y] + ε / K,   L = −Σ_k q_k log softmax(z)_k
      = (1 − ε) (−log p_y) + ε · (1/K) Σ_k (−log p_k).

∂L/∂z = softmax(z) − q, so the optimum is softmax(z) = q: the logit gap between the
true class and the others stays finite, z_y − z_k = log((1 − ε + ε/K) / (ε/K)), instead
of growing without bound as with one-hot targets (over-confident, over-fitted nets).

Mixup (Zhang et al., 2018). Empirical risk puts all mass on the training points;
mixup minimises a *vicinal* risk whose vicinity distribution draws pairs and mixes them:

    λ ~ Beta(α, α),  x̃ = λ x_i + (1 − λ) x_j,  ỹ = λ e_{y_i} + (1 − λ) e_{y_j}.

Cross-entropy is linear in the target, so CE(z, ỹ) = λ CE(z, y_i) + (1 − λ) CE(z, y_j):
the :func:`mixed_loss`. The net is pushed to behave linearly between examples.

CutMix (Yun et al., 2019). Instead of blending whole images, a box of x_j is pasted
into x_i. The box has sides H√(1 − λ), W√(1 − λ) around a uniform centre, clipped to
the image; λ is then reset to the share of pixels that still come from x_i,
λ = 1 − box area / (H W), so the label weights equal the pixel shares exactly.

Early stopping. Watch the validation loss; an epoch improves when loss < best − δ
(``min_delta``). After ``patience`` epochs without improvement, stop and restore the
weights of the best epoch (a copy kept when it happened). It limits the effective
capacity the way an L2 penalty does (for a quadratic loss, t steps of gradient
descent with rate η behave like ridge with α ≈ 1/(η t); Goodfellow et al., §7.8).

The ``check_*`` functions at the end test each regulariser against its definition and,
where PyTorch has one, against PyTorch; each takes the piece under test as an argument so
a deliberately wrong variant can be shown to fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.checks import CheckRecord, record

# ---------------------------------------------------------------- dropout


def dropout_with_mask(x: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:
    """x ⊙ m / (1 − p) for a given 0/1 keep mask m (all zeros when p = 1)."""
    if p >= 1.0:
        return torch.zeros_like(x)
    return x * keep.to(x.dtype) / (1.0 - p)


class InvertedDropout(nn.Module):
    """Drops each unit with probability ``p`` in training, scales survivors by 1/(1 − p).

    ``generator`` (optional) draws the masks, so a run can be reproduced on its own.
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        u = torch.rand(x.shape, generator=self.generator, dtype=x.dtype, device=x.device)
        return dropout_with_mask(x, u >= self.p, self.p)  # P(u ≥ p) = 1 − p

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ---------------------------------------------------------------- label smoothing


def smoothed_targets(
    target: torch.Tensor, classes: int, eps: float, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """q = (1 − ε) one_hot(y) + ε/K, shape (N, K)."""
    return (1.0 - eps) * F.one_hot(target, classes).to(dtype) + eps / classes


def smoothed_cross_entropy(logits: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    """mean over the batch of −Σ_k q_k log softmax(z)_k with q from :func:`smoothed_targets`."""
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label smoothing ε must be in [0, 1], got {eps}")
    log_p = F.log_softmax(logits, dim=1)  # (N, K)
    q = smoothed_targets(target, logits.shape[1], eps, log_p.dtype)
    return -(q * log_p).sum(dim=1).mean()


# ---------------------------------------------------------------- mixup and cutmix


@dataclass(frozen=True)
class MixedBatch:
    """Mixed inputs, the two label sets and the weight λ of the first one."""

    inputs: torch.Tensor
    y_a: torch.Tensor
    y_b: torch.Tensor
    lam: float


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float, rng: np.random.Generator) -> MixedBatch:
    """x̃ = λ x + (1 − λ) x[π] with λ ~ Beta(α, α) and π a random permutation of the batch."""
    if alpha <= 0:
        raise ValueError(f"mixup needs α > 0, got {alpha}")
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(len(x)))
    return MixedBatch(lam * x + (1.0 - lam) * x[perm], y, y[perm], lam)


def cutmix_box(
    height: int, width: int, lam: float, rng: np.random.Generator
) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a box of sides ≈ (H, W)·√(1 − λ), clipped to the image."""
    ratio = math.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    top, bottom = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    left, right = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    return int(top), int(bottom), int(left), int(right)


def cutmix(x: torch.Tensor, y: torch.Tensor, alpha: float, rng: np.random.Generator) -> MixedBatch:
    """Paste a box of x[π] into x (images (N, C, H, W)); λ = 1 − box area / (H W)."""
    if alpha <= 0:
        raise ValueError(f"cutmix needs α > 0, got {alpha}")
    height, width = x.shape[-2:]
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(len(x)))
    top, bottom, left, right = cutmix_box(height, width, lam, rng)
    mixed = x.clone()
    mixed[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
    lam = 1.0 - (bottom - top) * (right - left) / (height * width)  # the exact pixel share
    return MixedBatch(mixed, y, y[perm], lam)


def mixed_loss(
    logits: torch.Tensor,
    batch: MixedBatch,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
) -> torch.Tensor:
    """λ L(z, y_a) + (1 − λ) L(z, y_b) — the cross-entropy against λ e_{y_a} + (1 − λ) e_{y_b}."""
    return batch.lam * loss_fn(logits, batch.y_a) + (1.0 - batch.lam) * loss_fn(logits, batch.y_b)


# ---------------------------------------------------------------- early stopping


class EarlyStopping:
    """Stop after ``patience`` epochs whose loss is not below best − ``min_delta``.

    Call :meth:`step` once per epoch with the validation loss and the model; it keeps a
    copy of the best epoch's ``state_dict`` (tensors cloned, so later in-place updates
    cannot change it) and :meth:`restore` loads it back.
    """

    def __init__(self, patience: int, min_delta: float = 0.0) -> None:
        if patience < 1 or min_delta < 0:
            raise ValueError("need patience ≥ 1 and min_delta ≥ 0")
        self.patience, self.min_delta = patience, min_delta
        self.best = math.inf
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        self.bad_epochs = 0
        self.epoch = -1
        self.stopped_epoch: int | None = None

    def step(self, loss: float, model: nn.Module) -> bool:
        """Record this epoch's loss; True when training should stop now."""
        self.epoch += 1
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = float(loss), self.epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped_epoch = self.epoch
            return True
        return False

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights into ``model``."""
        if self.best_state is None:
            raise RuntimeError("no epoch recorded yet")
        model.load_state_dict(self.best_state)


# ---------------------------------------------------------------- checks: dropout


def check_dropout_statistics(
    seed: int, units: int, draws: int, p: float, make: Callable = InvertedDropout,
    tolerance: float = 5.0,
) -> CheckRecord:  # fmt: skip
    """max z-score of mean_draws(y_i) against x_i, and of the dropped share against p.

    y_i / x_i is 0 or 1/(1 − p), with mean 1 and variance p/(1 − p), so the mean of n
    draws has standard error |x_i| √(p / ((1 − p) n)).
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(units, generator=g, dtype=torch.float64) + 0.5  # away from 0
    layer = make(p, generator=g).train()
    y = layer(x.expand(draws, units))  # (draws, units), an independent mask per row
    se_mean = x * np.sqrt(p / ((1 - p) * draws))
    z_mean = float(((y.mean(dim=0) - x) / se_mean).abs().max())
    dropped = float((y == 0).double().mean())
    z_share = abs(dropped - p) / np.sqrt(p * (1 - p) / y.numel())
    detail = f"p = {p:g}, {draws} masks × {units} units, dropped share {dropped:.4f}"
    return record("dropout_statistics", max(z_mean, z_share), tolerance, detail)


def check_dropout_eval_identity(
    seed: int, p: float, make: Callable = InvertedDropout, tolerance: float = 0.0
) -> CheckRecord:
    """max |y − x| for eval mode with p, and training mode with p = 0."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 32, generator=g, dtype=torch.float64)
    in_eval = make(p, generator=g).eval()(x)
    no_drop = make(0.0, generator=g).train()(x)
    error = max(float((in_eval - x).abs().max()), float((no_drop - x).abs().max()))
    return record("dropout_eval_identity", error, tolerance, f"p = {p:g} in eval, p = 0 in train")


def check_dropout_torch_scaling(
    seed: int, p: float, apply_mask: Callable = dropout_with_mask, tolerance: float = 1e-12
) -> CheckRecord:
    """max |ours(x, m) − F.dropout(x)| where m is the set of units torch kept."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(200, 50, generator=g, dtype=torch.float64) + 0.5  # no exact zeros
    theirs = F.dropout(x, p=p, training=True)  # torch's own random stream
    ours = apply_mask(x, theirs != 0, p)
    return record(
        "dropout_torch_scaling", float((ours - theirs).abs().max()), tolerance, f"p = {p:g}"
    )


# ---------------------------------------------------------------- checks: label smoothing


def check_label_smoothing_torch(
    rng: np.random.Generator, n: int, classes: int, eps_values: tuple[float, ...],
    loss: Callable = smoothed_cross_entropy, tolerance: float = 1e-12,
) -> CheckRecord:  # fmt: skip
    """max relative gap in loss and ∂L/∂z vs ``F.cross_entropy(label_smoothing=ε)``, float64."""
    worst = 0.0
    for eps in eps_values:
        z0 = torch.from_numpy(rng.normal(0.0, 3.0, (n, classes)))
        y = torch.from_numpy(rng.integers(classes, size=n))
        ours_z, ref_z = z0.clone().requires_grad_(True), z0.clone().requires_grad_(True)
        ours = loss(ours_z, y, eps)
        ref = F.cross_entropy(ref_z, y, label_smoothing=eps)
        ours.backward()
        ref.backward()
        worst = max(
            worst,
            abs(ours.item() - ref.item()) / abs(ref.item()),
            float((ours_z.grad - ref_z.grad).abs().max() / ref_z.grad.abs().max()),
        )
    detail = f"N {n}, K {classes}, ε ∈ {list(eps_values)}"
    return record("label_smoothing_torch", worst, tolerance, detail)


def check_label_smoothing_optimum(
    rng: np.random.Generator, n: int, classes: int, eps: float,
    loss: Callable = smoothed_cross_entropy, tolerance: float = 1e-12,
) -> CheckRecord:  # fmt: skip
    """max |∂L/∂z| at z = log q + c (any shift c per row): softmax(z) = q is the optimum."""
    y = torch.from_numpy(rng.integers(classes, size=n))
    q = smoothed_targets(y, classes, eps, torch.float64)
    shift = torch.from_numpy(rng.normal(0.0, 5.0, (n, 1)))
    z = (q.log() + shift).requires_grad_(True)
    loss(z, y, eps).backward()
    gap = float(np.log((1 - eps + eps / classes) / (eps / classes)))
    detail = f"ε = {eps:g}, K = {classes}: optimal logit gap log((1−ε+ε/K)/(ε/K)) = {gap:.3g}"
    return record("label_smoothing_optimum", float(z.grad.abs().max()), tolerance, detail)


# ---------------------------------------------------------------- checks: mixup and cutmix


def check_mixup_soft_target(
    rng: np.random.Generator, n: int, classes: int, alpha: float, tolerance: float = 1e-12
) -> CheckRecord:
    """|mixed_loss − CE(z, λ e_a + (1 − λ) e_b)| / CE, with torch's probability targets."""
    x = torch.from_numpy(rng.normal(size=(n, 8)))
    y = torch.from_numpy(rng.integers(classes, size=n))
    batch = mixup(x, y, alpha, rng)
    logits = batch.inputs @ torch.from_numpy(rng.normal(size=(8, classes)))  # (N, 8) -> (N, K)
    ours = mixed_loss(logits, batch)
    e_a, e_b = (F.one_hot(t, classes).to(torch.float64) for t in (batch.y_a, batch.y_b))
    ref = F.cross_entropy(logits, batch.lam * e_a + (1 - batch.lam) * e_b)  # soft targets
    error = abs(ours.item() - ref.item()) / abs(ref.item())
    return record("mixup_soft_target", error, tolerance, f"λ = {batch.lam:.3f}, N {n}, K {classes}")


def check_mixup_lambda(
    rng: np.random.Generator, draws: int, alpha: float, mix: Callable = mixup,
    tolerance: float = 1.95,
) -> CheckRecord:  # fmt: skip
    """√n · sup |F_n(λ) − F_Beta(α,α)(λ)|; 1.95 is the 0.1 % critical value of Kolmogorov's law."""
    from scipy import stats

    x, y = torch.zeros(4, 2), torch.arange(4)
    lams = np.sort([mix(x, y, alpha, rng).lam for _ in range(draws)])
    cdf = stats.beta.cdf(lams, alpha, alpha)
    steps = np.arange(1, draws + 1) / draws
    distance = max(np.max(steps - cdf), np.max(cdf - (steps - 1 / draws)))
    return record(
        "mixup_lambda_beta", float(np.sqrt(draws) * distance), tolerance, f"α = {alpha:g}"
    )


def check_cutmix_area(
    rng: np.random.Generator, draws: int, size: int, alpha: float, mix: Callable = cutmix,
    tolerance: float = 1e-12,
) -> CheckRecord:  # fmt: skip
    """max |share of pixels from the partner − (1 − λ)| over draws (image i is filled with i)."""
    n = 8
    x = torch.arange(n, dtype=torch.float64).reshape(n, 1, 1, 1).expand(n, 1, size, size)
    worst = 0.0
    for _ in range(draws):
        batch = mix(x, torch.arange(n), alpha, rng)
        for i in range(n):
            partner = int(batch.y_b[i])
            if partner != i:
                share = float((batch.inputs[i] == partner).double().mean())
                worst = max(worst, abs(share - (1.0 - batch.lam)))
    detail = f"{draws} batches of {n} {size}×{size} images, α = {alpha:g}"
    return record("cutmix_area", worst, tolerance, detail)


# ---------------------------------------------------------------- checks: early stopping

# Worked by hand with patience 3, min_delta 0.01: bests at epochs 0, 1, 2 and 5 (0.65 <
# 0.70 − 0.01); 0.695 and 0.645 improve by less than min_delta, so they do not count;
# epochs 6, 7, 8 are the three without improvement, so training stops at epoch 8 and
# epoch 5's weights come back. The 0.40 at epoch 9 is never seen.
SCRIPTED_LOSSES = (1.00, 0.80, 0.70, 0.695, 0.72, 0.65, 0.66, 0.645, 0.70, 0.40)
EXPECTED_STOP, EXPECTED_BEST = 8, 5


def check_early_stopping(make: Callable = EarlyStopping, tolerance: float = 0.0) -> CheckRecord:
    """|stop − 8| + |best − 5| + |restored weight − 5| (the weight is set to the epoch number)."""
    model = nn.Linear(1, 1)
    stopper = make(patience=3, min_delta=0.01)
    stopped = -1
    for epoch, loss in enumerate(SCRIPTED_LOSSES):
        with torch.no_grad():
            model.weight.fill_(float(epoch))  # in place: a shallow copy of the best would drift
        if stopper.step(loss, model):
            stopped = epoch
            break
    stopper.restore(model)
    restored = float(model.weight.item())
    error = abs(stopped - EXPECTED_STOP) + abs(stopper.best_epoch - EXPECTED_BEST)
    error += abs(restored - EXPECTED_BEST)
    detail = f"stopped at {stopped}, best {stopper.best_epoch}, restored weight {restored:g}"
    return record("early_stopping", error, tolerance, detail)
