"""Symmetric InfoNCE with a learned temperature, clamped as open_clip clamps it.

For a batch of B matched pairs with L2-normalised embeddings ``u_i`` (images) and
``v_j`` (texts), the logits are ``s_ij = exp(t) · u_i·v_j`` with ``t`` the learned log
logit scale (CLIP: ``t`` starts at ``log(1/0.07)``). The loss averages the two
cross-entropies whose right answers lie on the diagonal:

    L = ½ [ −1/B Σ_i log softmax_j(s_ij)[i]  −  1/B Σ_j log softmax_i(s_ij)[j] ]

(Radford et al. 2021, Fig. 3). ``exp(t)`` is capped at 100 (open_clip's
``logit_scale.clamp_(0, math.log(100))`` after every optimiser step): beyond that the
softmax becomes a hard max and training turns unstable.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

INIT_LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature 0.07
MAX_LOGIT_SCALE = math.log(100.0)  # open_clip's clamp: exp(t) ≤ 100


class LogitScale(nn.Module):
    """The learned log logit scale ``t``; ``forward`` returns ``exp(clamp(t, 0, log 100))``."""

    def __init__(self, init: float = INIT_LOGIT_SCALE) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self) -> torch.Tensor:
        return self.log_scale.clamp(0.0, MAX_LOGIT_SCALE).exp()

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp the parameter in place (call after each optimiser step, as open_clip does)."""
        self.log_scale.clamp_(0.0, MAX_LOGIT_SCALE)


def clip_logits(
    image_emb: torch.Tensor, text_emb: torch.Tensor, scale: torch.Tensor
) -> torch.Tensor:
    """(B_img, B_txt) logits ``scale · u_i·v_j`` of L2-normalised embeddings."""
    return scale * image_emb @ text_emb.T


def info_nce(logits: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE of square ``(B, B)`` logits whose matched pairs lie on the diagonal."""
    if logits.ndim != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(f"InfoNCE needs square (B, B) logits, got {tuple(logits.shape)}")
    target = torch.arange(logits.shape[0], device=logits.device)
    image_to_text = F.cross_entropy(logits, target)
    text_to_image = F.cross_entropy(logits.T, target)
    return (image_to_text + text_to_image) / 2
