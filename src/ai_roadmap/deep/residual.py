"""A pre-activation residual block in NumPy with a hand-written backward.

He, Zhang, Ren & Sun, "Identity Mappings in Deep Residual Networks" (2016), in its
fully connected form (the convolutions of the paper become matrix products):

    y = x + F(x),   F(x) = W₂ ReLU(BN₂(W₁ ReLU(BN₁(x))))

x, y ∈ R^{N×d}; W₁ ∈ R^{h×d}, W₂ ∈ R^{d×h}; the linear maps carry no bias because the
BatchNorm after them would cancel it (BN₂'s β plays its role).

Why the identity path matters. The Jacobian of one block is

    ∂y/∂x = I + ∂F/∂x,

so however small ∂F/∂x is, the gradient passes through unchanged: ∂L/∂x = ∂L/∂y +
(∂F/∂x)ᵀ ∂L/∂y. Unrolling a stack x_{l+1} = x_l + F_l(x_l) gives
x_L = x_l + Σ_{i=l}^{L−1} F_i(x_i), hence

    ∂L/∂x_l = ∂L/∂x_L · (I + ∂/∂x_l Σ_{i=l}^{L−1} F_i(x_i)).

The first term reaches every layer directly, without the product of L − l layer
Jacobians that makes a plain network's gradient ∏ W_i diag(φ'(z_i)) shrink or blow up
geometrically with depth. Placing BN and ReLU *inside* the branch (pre-activation)
is what keeps the shortcut a pure identity: the original ResNet applies a ReLU after
the addition, which multiplies the shortcut by a 0/1 mask.

Backward, reverse order of the forward (each step's local derivative):

    dF = g;  ∂L/∂W₂ = dFᵀ h₂;  dh₂ = dF W₂;  da₂ = dh₂ ⊙ 1[a₂ > 0];  dz₁ = BN₂ᵀ(da₂)
    ∂L/∂W₁ = dz₁ᵀ h₁;  dh₁ = dz₁ W₁;  da₁ = dh₁ ⊙ 1[a₁ > 0];  dx_F = BN₁ᵀ(da₁)
    ∂L/∂x = g + dx_F

where a₁ = BN₁(x), h₁ = ReLU(a₁), z₁ = h₁W₁ᵀ, a₂ = BN₂(z₁), h₂ = ReLU(a₂), F = h₂W₂ᵀ and
BNᵀ is :func:`~ai_roadmap.deep.batchnorm.batchnorm_backward`.

The ``check_*`` functions at the end compare the block with the same computation
written in torch (:func:`torch_branch`) and differentiated by autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ai_roadmap.checks import CheckRecord, record
from ai_roadmap.deep.batchnorm import BatchNorm, max_relative_gap


@dataclass
class BlockCache:
    """Activations the backward needs: a₁, h₁, a₂, h₂ (shapes (N, d), (N, d), (N, h), (N, h))."""

    a1: np.ndarray
    h1: np.ndarray
    a2: np.ndarray
    h2: np.ndarray


class ResidualBlock:
    """y = x + W₂ ReLU(BN₂(W₁ ReLU(BN₁(x)))) for x of shape (N, dim).

    Weights are drawn with He initialisation, W ~ N(0, 2 / fan_in), which keeps the
    variance of ReLU activations constant from layer to layer. ``branch_scale`` scales
    W₂ (0 makes the block the identity).
    """

    def __init__(
        self, dim: int, hidden: int, rng: np.random.Generator, branch_scale: float = 1.0
    ) -> None:
        self.w1 = rng.normal(0.0, np.sqrt(2.0 / dim), (hidden, dim))
        self.w2 = branch_scale * rng.normal(0.0, np.sqrt(2.0 / hidden), (dim, hidden))
        self.bn1, self.bn2 = BatchNorm(dim), BatchNorm(hidden)
        self.grad_w1 = np.zeros_like(self.w1)
        self.grad_w2 = np.zeros_like(self.w2)
        self._cache: BlockCache | None = None

    @property
    def training(self) -> bool:
        return self.bn1.training

    @training.setter
    def training(self, mode: bool) -> None:
        self.bn1.training = self.bn2.training = mode

    def branch(self, x: np.ndarray) -> np.ndarray:
        """F(x), caching the activations for :meth:`branch_backward`."""
        a1 = self.bn1.forward(x)
        h1 = np.maximum(a1, 0.0)
        a2 = self.bn2.forward(h1 @ self.w1.T)  # (N, d) @ (d, h) -> (N, h)
        h2 = np.maximum(a2, 0.0)
        self._cache = BlockCache(a1, h1, a2, h2)
        return h2 @ self.w2.T  # (N, h) @ (h, d) -> (N, d)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y = x + F(x)."""
        return x + self.branch(x)

    def branch_backward(self, d_branch: np.ndarray) -> np.ndarray:
        """∂L/∂x through F alone, given ∂L/∂F; stores ∂L/∂W₁, ∂L/∂W₂ and the BN gradients."""
        c = self._cache
        if c is None:
            raise RuntimeError("call forward before backward")
        self.grad_w2 = d_branch.T @ c.h2  # (d, N) @ (N, h) -> (d, h)
        da2 = (d_branch @ self.w2) * (c.a2 > 0)  # (N, d) @ (d, h) -> (N, h)
        dz1 = self.bn2.backward(da2)
        self.grad_w1 = dz1.T @ c.h1  # (h, N) @ (N, d) -> (h, d)
        da1 = (dz1 @ self.w1) * (c.a1 > 0)  # (N, h) @ (h, d) -> (N, d)
        return self.bn1.backward(da1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """∂L/∂x = ∂L/∂y (the identity path) + the branch's contribution."""
        return dy + self.branch_backward(dy)

    def parameters(self) -> dict[str, np.ndarray]:
        """Trainable arrays by name (the same objects, not copies)."""
        return {
            "w1": self.w1,
            "w2": self.w2,
            "bn1.gamma": self.bn1.gamma,
            "bn1.beta": self.bn1.beta,
            "bn2.gamma": self.bn2.gamma,
            "bn2.beta": self.bn2.beta,
        }

    def gradients(self) -> dict[str, np.ndarray]:
        """∂L/∂parameter from the last backward, keyed like :meth:`parameters`."""
        return {
            "w1": self.grad_w1,
            "w2": self.grad_w2,
            "bn1.gamma": self.bn1.grad_gamma,
            "bn1.beta": self.bn1.grad_beta,
            "bn2.gamma": self.bn2.grad_gamma,
            "bn2.beta": self.bn2.grad_beta,
        }


def input_jacobian(block: ResidualBlock, x: np.ndarray, through_block: bool = True) -> np.ndarray:
    """∂y/∂x (or ∂F/∂x) of the whole batch, shape (N·d, N·d), from the hand-written backward.

    Row r is the backward of the unit cotangent e_r; in training mode BatchNorm couples
    the samples of a batch, so the Jacobian is not block-diagonal over samples.
    """
    block.forward(x)  # one forward: the cache (and the running statistics) are updated once
    n_out = x.size
    rows = np.empty((n_out, n_out))
    for r in range(n_out):
        cotangent = np.zeros(n_out)
        cotangent[r] = 1.0
        g = cotangent.reshape(x.shape)
        rows[r] = (block.backward(g) if through_block else block.branch_backward(g)).ravel()
    return rows


# ---------------------------------------------------------------- checks against torch


def torch_branch(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """F(x) = W₂ ReLU(BN₂(W₁ ReLU(BN₁(x)))) in torch (batch statistics), the reference."""
    a1 = F.batch_norm(x, None, None, p["bn1.gamma"], p["bn1.beta"], training=True)
    a2 = F.batch_norm(
        F.linear(F.relu(a1), p["w1"]), None, None, p["bn2.gamma"], p["bn2.beta"], training=True
    )
    return F.linear(F.relu(a2), p["w2"])


def _random_block(
    rng: np.random.Generator, dim: int, hidden: int, make_block: Callable
) -> tuple[ResidualBlock, dict[str, torch.Tensor]]:
    """A block with random γ, β too, and torch leaf tensors holding copies of its parameters."""
    block = make_block(dim, hidden, rng)
    for bn in (block.bn1, block.bn2):
        bn.gamma[:] = rng.normal(1.0, 0.5, bn.gamma.shape)
        bn.beta[:] = rng.normal(0.0, 0.5, bn.beta.shape)
    params = {k: torch.tensor(v, requires_grad=True) for k, v in block.parameters().items()}
    return block, params


def check_residual_torch(
    rng: np.random.Generator,
    batch: int,
    dim: int,
    hidden: int,
    make_block: Callable = ResidualBlock,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """y = x + F(x), ∂L/∂x and every parameter gradient vs torch autograd (float64)."""
    block, params = _random_block(rng, dim, hidden, make_block)
    x, g = rng.standard_normal((batch, dim)), rng.standard_normal((batch, dim))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = x_t + torch_branch(params, x_t)
    y_t.backward(torch.from_numpy(g))
    y, dx = block.forward(x), block.backward(g)
    grads = block.gradients()
    pairs = [(y, y_t), (dx, x_t.grad)] + [(grads[k], params[k].grad) for k in params]
    error = max_relative_gap(pairs)
    return record("residual_torch", error, tolerance, f"N {batch}, d {dim}, h {hidden}")


def check_residual_identity(
    rng: np.random.Generator,
    batch: int,
    dim: int,
    hidden: int,
    jacobian: Callable = input_jacobian,
    tolerance: float = 1e-10,
) -> CheckRecord:
    """max |∂y/∂x − I − ∂F/∂x|: our block Jacobian vs torch's Jacobian of the branch alone."""
    block, params = _random_block(rng, dim, hidden, ResidualBlock)
    x = rng.standard_normal((batch, dim))
    ours = jacobian(block, x)  # (N·d, N·d)
    branch = torch.autograd.functional.jacobian(
        lambda v: torch_branch({k: p.detach() for k, p in params.items()}, v), torch.tensor(x)
    ).reshape(x.size, x.size)  # (N, d, N, d) -> (N·d, N·d)
    error = float(np.max(np.abs(ours - np.eye(x.size) - branch.numpy())))
    detail = f"(N·d)² = {x.size}² entries, max |∂F/∂x| = {float(branch.abs().max()):.3g}"
    return record("residual_identity", error, tolerance, detail)
