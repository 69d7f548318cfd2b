"""The key/value cache: generation reads each token once instead of the whole prefix per step.

Without a cache, writing token t+1 recomputes K and V for tokens 1 … t at every layer:
O(t) projections per step, O(T²) for a sequence. But with a causal mask the keys and
values of earlier tokens never change once computed (they see only tokens before them),
so each layer keeps them and a step computes Q, K, V for the new token alone, appends
K and V, and attends over the whole stored sequence. The logits are *equal* to those of
the full recomputation (``s4.transformer`` checks that at every step).

Beam search reorders hypotheses between steps; :meth:`KVCache.select` takes the rows of
the batch the new hypotheses descend from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class KVCache:
    """Per layer, the keys and values of every token read so far: (B, h, T, d_h) each.

    ``keep`` (B, T) marks real tokens (False for padding) when the inputs were padded.
    """

    keys: list[Tensor] = field(default_factory=list)
    values: list[Tensor] = field(default_factory=list)
    keep: Tensor | None = None

    @property
    def length(self) -> int:
        """How many tokens the cache holds (the position of the next token)."""
        return self.keys[0].shape[2] if self.keys else 0

    def extend(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append this step's k, v (B, h, T_new, d_h) to ``layer``; return all of them."""
        import torch

        if layer == len(self.keys):  # the first step fills the layer
            self.keys.append(k)
            self.values.append(v)
        else:
            self.keys[layer] = torch.cat([self.keys[layer], k], dim=2)
            self.values[layer] = torch.cat([self.values[layer], v], dim=2)
        return self.keys[layer], self.values[layer]

    def select(self, rows: Tensor) -> KVCache:
        """The cache of batch rows ``rows`` (B',), in that order."""
        keep = None if self.keep is None else self.keep[rows]
        return KVCache([k[rows] for k in self.keys], [v[rows] for v in self.values], keep)
