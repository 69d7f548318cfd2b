"""Hinton distillation loss vs a NumPy float64 formula and its derived gradient; the frozen teacher.

The loss is checked against an independent NumPy computation of
α T² Σ p (log p − log q) / B + (1 − α) CE, its autograd gradient against the
closed form α T (q − p) / B + (1 − α)(softmax(v) − onehot(y)) / B derived in the
module docstring, and the large-T limit against logit matching (v − z) / (K B).
A loss without the T² factor is shown to fail the gradient check.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.datasets.images import normalise
from ai_roadmap.vision.distill import FrozenTeacher, distillation_loss, kd_loss

pytestmark = pytest.mark.reference

B, K = 6, 10


def np_log_softmax(a: np.ndarray) -> np.ndarray:
    shifted = a - a.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def np_kd(v: np.ndarray, z: np.ndarray, y: np.ndarray, t: float, alpha: float) -> float:
    log_q, log_p = np_log_softmax(v / t), np_log_softmax(z / t)
    kl = (np.exp(log_p) * (log_p - log_q)).sum() / len(v)
    ce = -np_log_softmax(v)[np.arange(len(v)), y].mean()
    return alpha * t * t * kl + (1 - alpha) * ce


def logits(seed: int, scale: float = 3.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(B, K, generator=g, dtype=torch.float64) * scale
    z = torch.randn(B, K, generator=g, dtype=torch.float64) * scale
    return v, z, torch.randint(0, K, (B,), generator=g)


@pytest.mark.parametrize("t, alpha", [(1.0, 0.5), (4.0, 0.9), (8.0, 0.3), (2.5, 1.0), (3.0, 0.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loss_equals_the_numpy_formula(t: float, alpha: float, seed: int) -> None:
    v, z, y = logits(seed)
    ours = kd_loss(v, z, y, t, alpha).item()
    assert ours == pytest.approx(np_kd(v.numpy(), z.numpy(), y.numpy(), t, alpha), abs=1e-12)


def closed_form_gradient(
    v: torch.Tensor, z: torch.Tensor, y: torch.Tensor, t: float, alpha: float
) -> torch.Tensor:
    q, p = torch.softmax(v / t, 1), torch.softmax(z / t, 1)
    hard = torch.softmax(v, 1) - F.one_hot(y, K).double()
    return (alpha * t * (q - p) + (1 - alpha) * hard) / len(v)


@pytest.mark.parametrize("t, alpha", [(1.0, 0.5), (4.0, 0.9), (10.0, 0.7)])
def test_gradient_is_alpha_t_q_minus_p(t: float, alpha: float) -> None:
    v, z, y = logits(3)
    v.requires_grad_(True)
    kd_loss(v, z, y, t, alpha).backward()
    expected = closed_form_gradient(v.detach(), z, y, t, alpha)
    torch.testing.assert_close(v.grad, expected, atol=1e-12, rtol=0)


def test_without_t_squared_the_gradient_check_fails() -> None:
    """The check above can fail: dropping T² shrinks the soft gradient by T²."""
    v, z, y = logits(4)
    v.requires_grad_(True)
    t, alpha = 4.0, 1.0
    no_t2 = F.kl_div(F.log_softmax(v / t, 1), F.softmax(z / t, 1), reduction="batchmean")
    no_t2.backward()
    expected = closed_form_gradient(v.detach(), z, y, t, alpha)
    assert not torch.allclose(v.grad, expected, atol=1e-6)
    torch.testing.assert_close(v.grad * t * t, expected, atol=1e-12, rtol=0)


def test_large_temperature_is_logit_matching() -> None:
    """T (q − p) → (v − z) / K for zero-mean logits: the gradient stops depending on T."""
    v, z, y = logits(5, scale=1.0)
    v, z = v - v.mean(1, keepdim=True), z - z.mean(1, keepdim=True)
    for t in (200.0, 2000.0):
        w = v.clone().requires_grad_(True)
        kd_loss(w, z, y, t, alpha=1.0).backward()
        limit = (v - z) / (K * B)
        rel = ((w.grad - limit).abs().max() / limit.abs().max()).item()
        assert rel < 1.0 / t  # the error of the first-order expansion falls like 1/T (≈ 0.54/T)


def test_edge_weights_and_bad_arguments() -> None:
    v, z, y = logits(6)
    torch.testing.assert_close(kd_loss(v, z, y, 3.0, 0.0), F.cross_entropy(v, y))
    smooth = kd_loss(v, z, y, 3.0, 0.0, label_smoothing=0.1)
    torch.testing.assert_close(smooth, F.cross_entropy(v, y, label_smoothing=0.1))
    assert kd_loss(z, z, y, 2.0, 1.0).item() == pytest.approx(0.0, abs=1e-12)  # q = p
    for t, alpha in ((0.0, 0.5), (-1.0, 0.5), (2.0, 1.5), (2.0, -0.1)):
        with pytest.raises(ValueError, match="temperature"):
            kd_loss(v, z, y, t, alpha)


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


def test_teacher_sees_its_own_normalisation_and_never_learns() -> None:
    torch.manual_seed(0)
    net = TinyNet()
    net.bn.running_mean.uniform_(-0.5, 0.5)  # non-trivial statistics, so eval mode matters
    net.bn.running_var.uniform_(0.5, 2.0)
    student_norm = ((0.2, 0.4, 0.6), (0.30, 0.25, 0.20))
    teacher_norm = ((0.5, 0.45, 0.4), (0.28, 0.27, 0.26))
    teacher = FrozenTeacher(net, student_norm, teacher_norm)
    teacher.train()  # must stay in eval mode
    assert not teacher.training and not net.bn.training

    pixels = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    x_student = normalise(pixels, *student_norm).requires_grad_(True)
    with torch.no_grad():
        expected = net.eval()(normalise(pixels, *teacher_norm))
    torch.testing.assert_close(teacher(x_student), expected, atol=1e-5, rtol=1e-5)

    before = {k: v.clone() for k, v in net.state_dict().items()}
    student = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, K))
    loss_fn = distillation_loss(teacher, temperature=4.0, alpha=0.9)
    loss = loss_fn(student(x_student), torch.zeros(5, dtype=torch.long), x_student)
    loss.backward()
    assert all(p.grad is None for p in net.parameters())
    assert all(p.grad is not None for p in student.parameters())
    for key, value in net.state_dict().items():  # BN running statistics unchanged too
        torch.testing.assert_close(value, before[key], atol=0, rtol=0)


def test_a_teacher_fed_the_student_normalisation_would_differ() -> None:
    """The remapping matters: without it the same pixels give other logits."""
    torch.manual_seed(1)
    net = TinyNet().eval()
    student_norm, teacher_norm = ((0.2, 0.4, 0.6), (0.3, 0.25, 0.2)), ((0.5,) * 3, (0.28,) * 3)
    pixels = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    with torch.no_grad():
        wrong = net(normalise(pixels, *student_norm))
        right = net(normalise(pixels, *teacher_norm))
    teacher = FrozenTeacher(net, student_norm, teacher_norm)
    assert not torch.allclose(wrong, right, atol=1e-3)
    torch.testing.assert_close(teacher(normalise(pixels, *student_norm)), right, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="same channels"):
        FrozenTeacher(net, ((0.1,), (0.2,)), teacher_norm)
