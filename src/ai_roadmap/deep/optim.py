"""Four optimisers written from their update equations, as ``torch.optim.Optimizer`` subclasses.

Notation for one parameter tensor θ at step t: g = ∇_θ L(θ) (the ``.grad`` left by
``backward()``), η the learning rate, λ the weight decay.

- :class:`Momentum` — heavy-ball (Polyak 1964) and Nesterov (Sutskever et al. 2013) momentum,
  in the form ``torch.optim.SGD`` uses (plain SGD is ``momentum=0``);
- :class:`AdamW` — Adam with weight decay decoupled from the gradient (Loshchilov & Hutter,
  "Decoupled Weight Decay Regularization", ICLR 2019);
- :class:`LARS` — layer-wise adaptive rate scaling (You, Gitman & Ginsburg, "Large Batch
  Training of Convolutional Networks", 2017): every layer gets its own learning rate from the
  ratio of its weight norm to its gradient norm;
- :class:`Lookahead` — k fast steps of any inner optimiser, then the slow weights move a
  fraction α towards the fast ones (Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps
  forward, 1 step back", NeurIPS 2019).

Every state tensor lives in ``self.state[p]`` like torch's own optimisers, so
``zero_grad``, parameter groups and learning-rate schedulers work unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.optim import Optimizer

Params = Iterable[torch.Tensor] | Iterable[dict[str, Any]]
Closure = Callable[[], torch.Tensor] | None


def _evaluate(closure: Closure) -> torch.Tensor | None:
    """Re-evaluate the loss with gradients enabled when a closure is given."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


# ---------------------------------------------------------------- momentum


class Momentum(Optimizer):
    """SGD with heavy-ball or Nesterov momentum, coupled (L2) weight decay and dampening.

    With μ the momentum, τ the dampening and b the velocity buffer::

        g ← ∇L(θ) + λθ                        (L2 penalty λ/2 ||θ||² folded into g)
        b ← g                 at the first step
        b ← μ b + (1 − τ) g   afterwards
        d ← b                 heavy ball
        d ← g + μ b           Nesterov
        θ ← θ − η d

    The Nesterov line is Sutskever et al.'s "look-ahead" gradient rewritten in
    the variable θ' = θ − ημb, so the gradient is taken where the parameters
    are, not at the look-ahead point. With μ = 0 this is plain SGD. Both forms
    match ``torch.optim.SGD`` (the first step copies g into b, undamped).
    """

    def __init__(
        self,
        params: Params,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError("lr, momentum and weight_decay must be non-negative")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and zero dampening")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:  # type: ignore[override]
        loss = _evaluate(closure)
        for group in self.param_groups:
            mu, tau = group["momentum"], group["dampening"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + group["weight_decay"] * p
                direction = g
                if mu != 0:
                    state = self.state[p]
                    if "velocity" not in state:
                        state["velocity"] = g.clone()
                    else:
                        state["velocity"].mul_(mu).add_(g, alpha=1 - tau)
                    b = state["velocity"]
                    direction = g + mu * b if group["nesterov"] else b
                p.add_(direction, alpha=-group["lr"])
        return loss


# ---------------------------------------------------------------- AdamW


class AdamW(Optimizer):
    """Adam with decoupled weight decay (and the optional AMSGrad maximum).

    With β₁, β₂ the moment decay rates and t the step count of this tensor::

        θ ← θ − η λ θ                          (decay applied to θ, not added to g)
        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        v̄ ← max(v̄, v) with AMSGrad, else v̄ = v
        m̂ = m / (1 − β₁ᵗ),   v̂ = v̄ / (1 − β₂ᵗ)    (bias correction of the zero start)
        θ ← θ − η m̂ / (√v̂ + ε)

    Why decoupled: with Adam's L2 penalty the decay term λθ passes through the
    1/√v̂ scaling, so weights with large gradients are decayed less; AdamW
    shrinks every weight by the same factor (1 − ηλ). The paper writes the decay
    with its own schedule multiplier; like torch we use η λ.
    """

    def __init__(
        self,
        params: Params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError("lr, eps and weight_decay must be non-negative")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:  # type: ignore[override]
        loss = _evaluate(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            lr, eps = group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                    if group["amsgrad"]:
                        state["v_max"] = torch.zeros_like(p)
                state["step"] += 1
                t, g = state["step"], p.grad
                p.mul_(1 - lr * group["weight_decay"])
                state["m"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["v"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                v_bar = state["v"]
                if group["amsgrad"]:
                    v_bar = torch.maximum(state["v_max"], state["v"], out=state["v_max"])
                m_hat = state["m"] / (1 - beta1**t)
                v_hat = v_bar / (1 - beta2**t)
                p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
        return loss


# ---------------------------------------------------------------- LARS


class LARS(Optimizer):
    """Layer-wise Adaptive Rate Scaling, Algorithm 1 of You et al. (2017).

    Each parameter tensor w (one "layer"), with γ the global learning rate, η the
    trust coefficient, β the weight decay and m the momentum::

        g ← ∇L(w)
        λ ← η ||w|| / (||g|| + β ||w|| + ε)      (local learning rate, the trust ratio)
        v ← m v + γ λ (g + β w)
        w ← w − v

    λ makes the step size relative: ||γλ(g + βw)|| ≈ γη||w||, whatever the scale
    of the gradient, which is what keeps very large batches (large γ) stable.
    When ||w|| = 0 or ||g|| = 0 the ratio is undefined and λ = 1 is used.
    With ``exclude_1d=True`` the 1-D tensors (biases, normalisation scales) skip
    the adaptation and the decay — λ = 1, β = 0 — as in most large-batch recipes.
    The last trust ratio is kept in ``state[p]["trust_ratio"]`` for inspection.
    """

    def __init__(
        self,
        params: Params,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust_coefficient: float = 1e-3,
        eps: float = 1e-9,
        exclude_1d: bool = False,
    ) -> None:
        if min(lr, momentum, weight_decay, trust_coefficient, eps) < 0:
            raise ValueError("LARS hyperparameters must be non-negative")
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            exclude_1d=exclude_1d,
        )
        super().__init__(params, defaults)

    @staticmethod
    def trust_ratio(
        w: torch.Tensor, g: torch.Tensor, coefficient: float, weight_decay: float, eps: float
    ) -> float:
        """λ = η ||w|| / (||g|| + β ||w|| + ε), or 1 when either norm is zero."""
        w_norm, g_norm = float(torch.linalg.vector_norm(w)), float(torch.linalg.vector_norm(g))
        if w_norm == 0.0 or g_norm == 0.0:
            return 1.0
        return coefficient * w_norm / (g_norm + weight_decay * w_norm + eps)

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:  # type: ignore[override]
        loss = _evaluate(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                excluded = group["exclude_1d"] and p.ndim <= 1
                beta = 0.0 if excluded else group["weight_decay"]
                ratio = 1.0
                if not excluded:
                    ratio = self.trust_ratio(
                        p, p.grad, group["trust_coefficient"], beta, group["eps"]
                    )
                update = (group["lr"] * ratio) * (p.grad + beta * p)
                state = self.state[p]
                if "velocity" not in state:
                    state["velocity"] = torch.zeros_like(p)
                state["velocity"].mul_(group["momentum"]).add_(update)
                state["trust_ratio"] = ratio
                p.sub_(state["velocity"])
        return loss


# ---------------------------------------------------------------- Lookahead


class Lookahead(Optimizer):
    """Lookahead around any inner optimiser: k fast steps forward, one slow step back.

    Algorithm 1 of Zhang et al. (2019), with φ the slow and θ the fast weights
    (φ₀ = θ₀ at construction)::

        for i = 1 … k:   θ ← θ + A(θ)             (A: one step of the inner optimiser)
        φ ← φ + α (θ − φ)                         (slow weights: linear interpolation)
        θ ← φ                                     (fast weights restart from the slow ones)

    The slow weights are an exponential moving average of the fast end points,
    φ_t = α Σ_i (1 − α)^{t−i} θ_{i,k} (+ (1 − α)^t φ₀), which damps the
    oscillation of the inner optimiser along high-curvature directions. The
    inner optimiser keeps its state (momentum, Adam moments) across syncs.
    Parameter groups are shared with the inner optimiser, so a scheduler on
    either changes both; ``state_dict()`` holds the slow weights only, so a
    checkpoint saves ``inner.state_dict()`` beside it.
    """

    def __init__(self, inner: Optimizer, k: int = 5, alpha: float = 0.5) -> None:
        if k < 1:
            raise ValueError(f"k must be a positive number of fast steps, got {k}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.inner, self.k, self.alpha = inner, k, alpha
        self.fast_steps = 0
        super().__init__(inner.param_groups, {})  # the same group dicts as the inner optimiser
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["slow"] = p.detach().clone()

    @torch.no_grad()
    def step(self, closure: Closure = None) -> torch.Tensor | None:  # type: ignore[override]
        loss = self.inner.step(closure)
        self.fast_steps += 1
        if self.fast_steps % self.k == 0:
            for group in self.param_groups:
                for p in group["params"]:
                    slow = self.state[p]["slow"]
                    slow.add_(p - slow, alpha=self.alpha)
                    p.copy_(slow)
        return loss
