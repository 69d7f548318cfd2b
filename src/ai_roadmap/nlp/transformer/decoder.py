"""A decoder-only Transformer language model (GPT-style, pre-LN) with a KV cache.

For tokens x_1 … x_T the model computes p(x_{t+1} | x_≤t) for every t at once::

    h⁰ = E[x] (+ PE when positions = "sinusoidal")          (B, T, d)
    for each of L blocks (pre-LN, Xiong et al. 2020):
        h ← h + Dropout(MHA(LN(h), mask = causal ∧ padding))
        h ← h + Dropout(W₂ GELU(W₁ LN(h)))                 feed-forward, d → d_ff → d
    logits = LN(h) Eᵀ                                        output tied to the embedding

Pre-LN puts the normalisation inside the residual branch, so the residual path from the
embedding to the output is a plain sum: gradients reach the first layer undamped and the
model trains without the learning-rate warm-up that post-LN (the 2017 layout) needs.
With ``positions = "rope"`` nothing is added to h⁰; queries and keys are rotated inside
attention (:mod:`.positions`).

API: build from :class:`DecoderConfig`; ``forward(ids, mask) -> logits`` (mask (B, T),
True for real tokens; ``None``: all real); ``forward(ids, mask, cache)`` reads only the
new tokens and appends them to the :class:`~.cache.KVCache`; :meth:`DecoderLM.generate`
samples with the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ai_roadmap.nlp.transformer.attention import MultiHeadAttention
from ai_roadmap.nlp.transformer.cache import KVCache
from ai_roadmap.nlp.transformer.masks import causal_mask, combine, padding_mask
from ai_roadmap.nlp.transformer.positions import sinusoidal_table


@dataclass(frozen=True)
class DecoderConfig:
    """Sizes of :class:`DecoderLM`."""

    vocab_size: int
    d_model: int = 128  # d: embedding and residual width
    n_heads: int = 4  # h; head width d_h = d / h
    n_layers: int = 2  # L blocks
    d_ff: int = 512  # feed-forward hidden width (4d is usual)
    max_len: int = 256  # longest sequence (prompt + generated) the model takes
    dropout: float = 0.1  # on attention weights, residual branches and embeddings
    positions: Literal["rope", "sinusoidal"] = "rope"
    pad_id: int = 0

    def __post_init__(self) -> None:
        if (
            min(self.vocab_size, self.d_model, self.n_heads, self.n_layers, self.d_ff, self.max_len)
            < 1
        ):
            raise ValueError(f"sizes must be positive: {self}")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(f"d_model / n_heads must be an even integer: {self}")
        if self.positions not in ("rope", "sinusoidal") or not 0 <= self.dropout < 1:
            raise ValueError(f"bad positions or dropout: {self}")


class Block(nn.Module):
    """One pre-LN block: h + MHA(LN h), then h + FFN(LN h)."""

    def __init__(self, c: DecoderConfig) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
        self.attn = MultiHeadAttention(
            c.d_model, c.n_heads, c.dropout, rotary=c.positions == "rope"
        )
        self.ff = nn.Sequential(
            nn.Linear(c.d_model, c.d_ff), nn.GELU(), nn.Linear(c.d_ff, c.d_model)
        )
        self.drop = nn.Dropout(c.dropout)

    def forward(
        self, h: Tensor, allowed: Tensor, cache: KVCache | None, layer: int, start: int
    ) -> Tensor:
        a, _ = self.attn(self.ln1(h), allowed=allowed, cache=cache, layer=layer, start=start)
        h = h + self.drop(a)
        return h + self.drop(self.ff(self.ln2(h)))


class DecoderLM(nn.Module):
    """Embedding → L pre-LN blocks → LN → softmax tied to the embedding."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.ln_f = nn.LayerNorm(c.d_model)
        table = (
            sinusoidal_table(c.max_len, c.d_model)
            if c.positions == "sinusoidal"
            else torch.zeros(0)
        )
        self.register_buffer("pe", table, persistent=False)
        self.apply(_init)

    def forward(
        self, ids: Tensor, mask: Tensor | None = None, cache: KVCache | None = None
    ) -> Tensor:
        """Logits (B, T, V) of the token after each of ``ids`` (B, T).

        mask (B, T): True for real tokens, False for padding. With ``cache`` the ids are
        the new tokens only; positions continue from the cache's length.
        """
        start = cache.length if cache is not None else 0
        b, t = ids.shape
        if start + t > self.config.max_len:
            raise ValueError(f"{start + t} tokens exceed max_len {self.config.max_len}")
        keep = mask if mask is not None else torch.ones(b, t, dtype=torch.bool, device=ids.device)
        if cache is not None:
            old = cache.keep if cache.keep is not None else keep.new_ones(b, start)
            keep = cache.keep = torch.cat([old, keep], dim=1)  # (B, T_cache + T)
        causal = causal_mask(t, start + t, ids.device)  # (T, T_k)
        allowed = combine(causal, padding_mask(keep))  # (B, 1, T, T_k)
        h = self.embed(ids)  # (B, T) -> (B, T, d)
        if self.config.positions == "sinusoidal":
            h = h + self.pe[start : start + t]  # type: ignore[index]
        h = self.drop(h)
        for layer, block in enumerate(self.blocks):
            h = block(h, allowed, cache, layer, start)
        return self.ln_f(h) @ self.embed.weight.T  # (B, T, d) @ (d, V) -> (B, T, V)

    @torch.no_grad()
    def generate(
        self,
        prompt: Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int = 0,
        eos_id: int | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> Tensor:
        """Prompt (B, P) followed by up to ``max_new_tokens`` sampled tokens (B, P + N).

        Greedy when ``temperature`` is 0. With the cache each step reads one token; without
        it each step re-reads the whole sequence (the same logits, slower).
        """
        was_training = self.training
        self.eval()
        cache = KVCache() if use_cache else None
        seq, logits = prompt, self(prompt, cache=cache)[:, -1]
        for _ in range(max_new_tokens):
            token = _choose(logits, temperature, top_k, generator)  # (B, 1)
            seq = torch.cat([seq, token], dim=1)
            if eos_id is not None and bool((seq == eos_id).any(dim=1).all()):
                break
            logits = (self(token, cache=cache) if cache is not None else self(seq))[:, -1]
        self.train(was_training)
        return seq

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _choose(
    logits: Tensor, temperature: float, top_k: int, generator: torch.Generator | None
) -> Tensor:
    """(B, 1) next tokens: argmax at temperature 0, else a draw from softmax(logits / T), top-k."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k:
        kth = logits.topk(min(top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)


def _init(module: nn.Module) -> None:
    """GPT-2's initialisation: N(0, 0.02) weights, zero biases, LayerNorm at identity."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
