"""The decoder behind the poetry decoders' ``Stepper`` interface.

:mod:`ai_roadmap.nlp.poetry.generate` (sampling, beam search, form-constrained decoding)
and :mod:`ai_roadmap.nlp.poetry.evaluate` drive any model through three calls: ``start``
on a prefix, ``step`` on one new token per row, ``select`` to reorder rows for beam search.
For the decoder the state is its :class:`~.cache.KVCache`, so each step reads one token.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from ai_roadmap.nlp.transformer.cache import KVCache
from ai_roadmap.nlp.transformer.decoder import DecoderLM


class DecoderStepper:
    """Next-token log-probabilities of a :class:`DecoderLM`, the KV cache as state."""

    def __init__(self, model: DecoderLM, device: str | torch.device = "cpu") -> None:
        self.model = model.eval()
        self.device = torch.device(device)

    @torch.no_grad()
    def start(self, prefix: Tensor) -> tuple[Tensor, KVCache]:
        cache = KVCache()
        logits = self.model(prefix.to(self.device), cache=cache)  # (B, P, V)
        return F.log_softmax(logits[:, -1].float(), dim=-1).cpu(), cache

    @torch.no_grad()
    def step(self, state: KVCache, tokens: Tensor) -> tuple[Tensor, KVCache]:
        logits = self.model(tokens.to(self.device)[:, None], cache=state)  # (B, 1, V)
        return F.log_softmax(logits[:, -1].float(), dim=-1).cpu(), state

    def select(self, state: KVCache, rows: Tensor) -> KVCache:
        return state.select(rows.to(self.device))
