"""The NumPy pre-activation residual block against torch autograd (float64) and its
Jacobian's identity path; each residual check also fails on a deliberately wrong variant.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ai_roadmap.deep import residual as res

pytestmark = pytest.mark.reference


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def torch_block(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Written out here independently of res.torch_branch."""
    a1 = F.batch_norm(x, None, None, params["bn1.gamma"], params["bn1.beta"], training=True)
    z1 = F.relu(a1) @ params["w1"].T
    a2 = F.batch_norm(z1, None, None, params["bn2.gamma"], params["bn2.beta"], training=True)
    return x + F.relu(a2) @ params["w2"].T


def random_block(seed: int, dim: int = 5, hidden: int = 7) -> res.ResidualBlock:
    g = rng(seed)
    block = res.ResidualBlock(dim, hidden, g)
    for bn in (block.bn1, block.bn2):
        bn.gamma[:] = g.normal(1.0, 0.5, bn.gamma.shape)
        bn.beta[:] = g.normal(0.0, 0.5, bn.beta.shape)
    return block


def test_forward_and_every_gradient_match_autograd() -> None:
    block, g = random_block(1), rng(2)
    x, dy = g.standard_normal((9, 5)), g.standard_normal((9, 5))
    params = {k: torch.tensor(v, requires_grad=True) for k, v in block.parameters().items()}
    x_t = torch.tensor(x, requires_grad=True)
    y_t = torch_block(params, x_t)
    y_t.backward(torch.from_numpy(dy))
    np.testing.assert_allclose(block.forward(x), y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(block.backward(dy), x_t.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, grad in block.gradients().items():
        np.testing.assert_allclose(grad, params[name].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_batch_jacobian_matches_torch() -> None:
    block, x = random_block(3, dim=3, hidden=4), rng(4).standard_normal((5, 3))
    params = {k: torch.tensor(v) for k, v in block.parameters().items()}
    ours = res.input_jacobian(block, x)
    theirs = torch.autograd.functional.jacobian(lambda v: torch_block(params, v), torch.tensor(x))
    np.testing.assert_allclose(ours, theirs.reshape(15, 15).numpy(), rtol=1e-10, atol=1e-12)


def test_zero_branch_makes_the_block_the_identity() -> None:
    block = res.ResidualBlock(4, 6, rng(5), branch_scale=0.0)
    x = rng(6).standard_normal((8, 4))
    np.testing.assert_array_equal(block.forward(x), x)
    np.testing.assert_allclose(res.input_jacobian(block, x), np.eye(32), atol=1e-15)


def test_eval_mode_block_matches_torch_with_running_statistics() -> None:
    block, g = random_block(7), rng(8)
    block.forward(g.standard_normal((10, 5)))  # one training step fills the running stats
    block.training = False
    x = g.standard_normal((3, 5))
    p = {k: torch.tensor(v) for k, v in block.parameters().items()}
    x_t = torch.tensor(x)
    a1 = F.batch_norm(
        x_t, torch.from_numpy(block.bn1.running_mean), torch.from_numpy(block.bn1.running_var),
        p["bn1.gamma"], p["bn1.beta"], training=False,
    )  # fmt: skip
    a2 = F.batch_norm(
        F.relu(a1) @ p["w1"].T, torch.from_numpy(block.bn2.running_mean),
        torch.from_numpy(block.bn2.running_var), p["bn2.gamma"], p["bn2.beta"], training=False,
    )  # fmt: skip
    expected = x_t + F.relu(a2) @ p["w2"].T
    np.testing.assert_allclose(block.forward(x), expected.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- the checks and wrong variants


def test_residual_checks_pass() -> None:
    assert res.check_residual_torch(rng(9), 6, 4, 5).passed
    assert res.check_residual_identity(rng(10), 4, 3, 5).passed


class BranchOnlyBackward(res.ResidualBlock):
    """Wrong: forgets the identity path in the backward."""

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self.branch_backward(dy)


def test_backward_without_the_identity_path_is_detected() -> None:
    rec = res.check_residual_torch(rng(11), 6, 4, 5, make_block=BranchOnlyBackward)
    assert not rec.passed and rec.error > 0.1, rec


def test_relu_after_the_addition_is_detected() -> None:
    def post_activation_jacobian(block: res.ResidualBlock, x: np.ndarray) -> np.ndarray:
        """Jacobian of ReLU(x + F(x)) (the original ResNet): the mask breaks the identity."""
        y = block.forward(x)
        return (y > 0).ravel()[:, None] * res.input_jacobian(block, x)

    rec = res.check_residual_identity(rng(12), 4, 3, 5, jacobian=post_activation_jacobian)
    assert not rec.passed and rec.error > 0.1, rec
