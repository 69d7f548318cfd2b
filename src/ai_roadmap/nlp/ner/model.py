"""BiLSTM-CRF over characters and bigrams (Huang, Xu & Yu 2015; Lample et al. 2016).

    x_t = [E_char(c_t); E_bi(c_{t−1}c_t); E_bi(c_t c_{t+1})]        (d_c + 2 d_b)
    h_t = [LSTM→(x_1..t); LSTM←(x_t..n)]                               (2 H)
    E[t, y] = W h_t + b                                                 emission scores
    p(y | x) = CRF(E)                                                   :mod:`.crf`

Loss: the mean over sequences of −log p(gold | x). Decoding: constrained Viterbi, so
every output is valid IOB2. The config dataclass is all a saved folder needs to
rebuild the network (:mod:`ai_roadmap.artifacts.torch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ai_roadmap.nlp.ner.crf import CRF


@dataclass(frozen=True)
class BiLSTMCRFConfig:
    """Sizes of the tagger; the vocabularies fix the table heights."""

    num_chars: int
    num_bigrams: int
    tags: list[str] = field(default_factory=lambda: ["O"])
    char_dim: int = 64
    bigram_dim: int = 64  # 0: characters only
    hidden_size: int = 128  # per direction
    num_layers: int = 1
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if self.num_chars < 2 or self.hidden_size < 1 or not 0 <= self.dropout < 1:
            raise ValueError("num_chars ≥ 2, hidden_size ≥ 1 and 0 ≤ dropout < 1 are required")


class BiLSTMCRF(nn.Module):
    """Character + bigram embeddings → BiLSTM → linear emissions → CRF."""

    def __init__(self, cfg: BiLSTMCRFConfig) -> None:
        super().__init__()
        self.cfg = cfg
        # sparse gradients: an optimiser step touches only the rows a batch used
        self.char_embed = nn.Embedding(cfg.num_chars, cfg.char_dim, padding_idx=0, sparse=True)
        width = cfg.char_dim
        if cfg.bigram_dim:
            self.bigram_embed = nn.Embedding(
                cfg.num_bigrams, cfg.bigram_dim, padding_idx=0, sparse=True
            )
            width += 2 * cfg.bigram_dim
        self.dropout = nn.Dropout(cfg.dropout)
        self.lstm = nn.LSTM(
            width,
            cfg.hidden_size,
            num_layers=cfg.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0,
        )
        self.emit = nn.Linear(2 * cfg.hidden_size, len(cfg.tags))
        self.crf = CRF(len(cfg.tags), cfg.tags)

    def emissions(
        self, chars: torch.Tensor, left: torch.Tensor, right: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Emission scores (B, T, K) for padded id tensors (B, T)."""
        x = self.char_embed(chars)
        if self.cfg.bigram_dim:
            x = torch.cat([x, self.bigram_embed(left), self.bigram_embed(right)], dim=2)
        lengths = mask.sum(1).cpu()
        packed = pack_padded_sequence(self.dropout(x), lengths, True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], True, total_length=chars.shape[1])
        return self.emit(self.dropout(h))  # (B, T, 2H) -> (B, T, K)

    def loss(
        self,
        chars: torch.Tensor,
        left: torch.Tensor,
        right: torch.Tensor,
        mask: torch.Tensor,
        tags: torch.Tensor,
    ) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tags."""
        return -self.crf(self.emissions(chars, left, right, mask), tags, mask).mean()

    @torch.no_grad()
    def decode(
        self, chars: torch.Tensor, left: torch.Tensor, right: torch.Tensor, mask: torch.Tensor
    ) -> list[list[int]]:
        """The best valid IOB2 tag ids of each sequence (padding cut off)."""
        return self.crf.decode(self.emissions(chars, left, right, mask), mask)

    def load_pretrained(self, chars: torch.Tensor | None, bigrams: torch.Tensor | None) -> None:
        """Copy pretrained tables in (same rows as the vocabulary; padding row zeroed)."""
        with torch.no_grad():
            if chars is not None:
                self.char_embed.weight.copy_(chars)
                self.char_embed.weight[0].zero_()
            if bigrams is not None and self.cfg.bigram_dim:
                self.bigram_embed.weight.copy_(bigrams)
                self.bigram_embed.weight[0].zero_()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
