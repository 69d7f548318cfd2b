"""Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a NN").

A trained teacher's logits z carry more than its top-1 answer: how much it
thinks a shirt looks like a T-shirt rather than a boot. The student (logits v)
learns from those "dark knowledge" ratios by matching the teacher's *softened*
distribution at a temperature T > 1:

    p_i = softmax(z / T)_i = exp(z_i / T) / Σ_j exp(z_j / T)      teacher
    q_i = softmax(v / T)_i                                           student

The loss mixes a soft term and the usual hard-label cross-entropy, α ∈ [0, 1]:

    L = α · T² · KL(p ‖ q) + (1 − α) · CE(y, softmax(v))
    KL(p ‖ q) = Σ_i p_i (log p_i − log q_i)

Why T². The teacher is fixed, so ∂/∂v_i of Σ p log p is 0, and

    ∂/∂v_i [−Σ_k p_k log q_k] = −Σ_k p_k (δ_ki − q_i) / T = (q_i − p_i) / T,

using ∂ log q_k / ∂v_i = (δ_ki − q_i) / T and Σ_k p_k = 1. Hence

    ∂ (T² KL) / ∂v_i = T (q_i − p_i).

For large T, exp(a/T) ≈ 1 + a/T, so with logits of zero mean (Σ v = Σ z = 0)
q_i ≈ (1 + v_i/T) / K and p_i ≈ (1 + z_i/T) / K, and

    T (q_i − p_i) ≈ (v_i − z_i) / K:

the soft term becomes plain logit matching, ½/K · ‖v − z‖², with a gradient whose
size does not depend on T. Without the T² factor the soft gradients would shrink
as 1/T² (the 1/T above times the 1/T of q − p) and α would have to be retuned for
every temperature. Averaged over a batch of B images (``batchmean``), each
image's gradient carries a further 1/B.

The teacher runs in eval mode (BatchNorm uses its running statistics), under
``no_grad``, on exactly the augmented images the student sees; its weights never
change. When the teacher was trained with other normalisation statistics
(μ_t, σ_t) than the student's (μ_s, σ_s), its input is mapped back, per channel,

    x_t = (x_s σ_s + μ_s − μ_t) / σ_t,

so both see the same pixels. Label smoothing in the teacher's own training
flattens p and so removes part of what distillation transfers (Müller, Kornblith
& Hinton 2019); the hard term here defaults to no smoothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.training.loop import LossFn


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    targets: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.9,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """α · T² · KL(softmax(z/T) ‖ softmax(v/T)) + (1 − α) · CE(y, v), batch mean."""
    if temperature <= 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError("temperature > 0 and 0 ≤ alpha ≤ 1 are required")
    t = float(temperature)
    log_q = F.log_softmax(student_logits / t, dim=1)
    log_p = F.log_softmax(teacher_logits.detach() / t, dim=1)
    soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * (t * t)
    hard = F.cross_entropy(student_logits, targets, label_smoothing=label_smoothing)
    return alpha * soft + (1.0 - alpha) * hard


class FrozenTeacher(nn.Module):
    """A trained classifier that only ever predicts: eval mode, no gradients, own normalisation.

    ``student_norm`` and ``teacher_norm`` are (mean, std) per channel of x / 255;
    inputs arrive normalised the student's way and are remapped to the teacher's.
    """

    def __init__(
        self,
        model: nn.Module,
        student_norm: tuple[tuple[float, ...], tuple[float, ...]],
        teacher_norm: tuple[tuple[float, ...], tuple[float, ...]],
    ) -> None:
        super().__init__()
        self.model = model.eval()  # forward runs under no_grad: its weights get no gradient
        (mu_s, sd_s), (mu_t, sd_t) = student_norm, teacher_norm
        if not len(mu_s) == len(sd_s) == len(mu_t) == len(sd_t):
            raise ValueError("student and teacher normalisations need the same channels")
        # x_t = x_s · (σ_s/σ_t) + (μ_s − μ_t)/σ_t
        scale = [s / t for s, t in zip(sd_s, sd_t, strict=True)]
        shift = [(ms - mt) / t for ms, mt, t in zip(mu_s, mu_t, sd_t, strict=True)]
        self.register_buffer("scale", torch.tensor(scale).view(1, -1, 1, 1))
        self.register_buffer("shift", torch.tensor(shift).view(1, -1, 1, 1))

    def train(self, mode: bool = True) -> FrozenTeacher:
        """Stays in eval mode: its BatchNorm statistics must not move."""
        super().train(False)
        return self

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale.device != x.device:
            self.to(x.device)
        return self.model(x * self.scale + self.shift).float()


def distillation_loss(
    teacher: FrozenTeacher, temperature: float, alpha: float, label_smoothing: float = 0.0
) -> LossFn:
    """A ``loss_fn(logits, targets, inputs)`` for :func:`ai_roadmap.training.loop.fit`."""

    def loss(logits: torch.Tensor, targets: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return kd_loss(logits, teacher(inputs), targets, temperature, alpha, label_smoothing)

    return loss
