"""A character-level LSTM language model with a tied softmax.

For a token sequence x₁ … x_T the model factorises p(x) = Π_t p(x_t | x_<t) and computes
each factor as::

    e_t = E[x_t]                                  embedding, E ∈ R^{V×d}
    h_t^(1) = LSTM₁(dropout(e_t), h_{t−1}^(1))    L stacked layers; dropout between layers
    h_t^(l) = LSTM_l(dropout(h_t^(l−1)), h_{t−1}^(l))
    z_t = W_p dropout(h_t^(L))                    projection R^H → R^d (only when H ≠ d)
    p(x_{t+1} | x_≤t) = softmax(E z_t + b)

Dropout sits on the non-recurrent connections only, as in Zaremba et al. (2014),
"Recurrent neural network regularization": the recurrent path h_{t−1} → h_t stays intact
so the LSTM's memory is not corrupted at every step. The output layer reuses the input
embedding E — weight tying (Press & Wolf 2017; Inan et al. 2017): a character's output
vector is its input vector, which removes V·d parameters and regularises the rare
characters, whose output rows would otherwise get few updates. The LSTM's own gate
equations are written out in :mod:`ai_roadmap.deep.rnn`; here ``torch.nn.LSTM`` (same
parameter layout) runs them with its fused kernels.

Training minimises the mean negative log-likelihood per predicted token,
ℓ = −(1/N) Σ log p(x_{t+1} | x_≤t), and reports perplexity exp(ℓ): the effective number
of equally likely next characters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

State = tuple[Tensor, Tensor]  # (h, c), each (num_layers, B, H)


@dataclass(frozen=True)
class LSTMConfig:
    """Sizes of :class:`PoetryLSTM`."""

    vocab_size: int
    embed_dim: int = 256  # d, also the width of the tied softmax
    hidden_size: int = 512  # H per layer
    num_layers: int = 2
    dropout: float = 0.2  # on embeddings, between layers and before the softmax
    tie_weights: bool = True

    def __post_init__(self) -> None:
        if min(self.vocab_size, self.embed_dim, self.hidden_size, self.num_layers) < 1:
            raise ValueError(f"sizes must be positive: {self}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1): {self.dropout}")


class PoetryLSTM(nn.Module):
    """Embedding → multi-layer LSTM → (projection) → softmax tied to the embedding."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.drop = nn.Dropout(c.dropout)
        self.lstm = nn.LSTM(
            c.embed_dim,
            c.hidden_size,
            c.num_layers,
            dropout=c.dropout if c.num_layers > 1 else 0.0,
            batch_first=True,
        )
        out_dim = c.embed_dim if c.tie_weights else c.hidden_size
        self.proj = nn.Linear(c.hidden_size, out_dim) if out_dim != c.hidden_size else None
        self.head = nn.Linear(out_dim, c.vocab_size)
        if c.tie_weights:
            self.head.weight = self.embed.weight  # one (V, d) matrix for input and output
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Logits (B, T, V) for the token after each position, and the final state."""
        x = self.drop(self.embed(tokens))  # (B, T) -> (B, T, d)
        h, state = self.lstm(x, state)  # (B, T, H)
        h = self.drop(h)
        if self.proj is not None:
            h = self.proj(h)  # (B, T, H) -> (B, T, d)
        return self.head(h), state

    @staticmethod
    def select_state(state: State, rows: Tensor) -> State:
        """The state of the batch rows ``rows`` (beam search reorders its hypotheses)."""
        return state[0][:, rows], state[1][:, rows]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build(kind: str, vocab_size: int, **sizes: object) -> nn.Module:
    """A language model by name; the training loop and the decoders accept any of them."""
    if kind == "lstm":
        return PoetryLSTM(LSTMConfig(vocab_size=vocab_size, **sizes))  # type: ignore[arg-type]
    raise ValueError(f"unknown model kind {kind!r}; known: lstm")


def perplexity(mean_nll: float) -> float:
    """exp(ℓ), capped so a diverged model reports a large finite number."""
    return float(torch.tensor(min(mean_nll, 50.0)).exp())
