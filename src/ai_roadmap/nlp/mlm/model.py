"""A small RoBERTa for masked-language modelling, built from a config (no pretrained weights).

RoBERTa is BERT's encoder trained on MLM alone, with dynamic masking and no
next-sentence task. Its position ids start after the padding index
(``padding_idx + 1 …``), so ``max_position_embeddings`` must cover the block length
plus ``pad_token_id + 1``. The output layer is tied to the input embeddings.
Parameters ≈ V·d (embeddings) + L·12·d² (attention 4d², feed-forward 2·d·4d).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ai_roadmap.nlp.mlm  # noqa: F401  (offline settings before transformers loads)

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, RobertaForMaskedLM


@dataclass(frozen=True)
class EncoderSize:
    """Width, depth and regularisation of the encoder."""

    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError("model.hidden_size must be a multiple of model.num_heads")


def build_model(
    size: EncoderSize, tokenizer: PreTrainedTokenizerFast, block_size: int
) -> RobertaForMaskedLM:
    """A freshly initialised ``RobertaForMaskedLM`` for ``tokenizer``'s vocabulary."""
    from transformers import RobertaConfig, RobertaForMaskedLM

    pad = tokenizer.pad_token_id
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden_size,
        num_hidden_layers=size.num_layers,
        num_attention_heads=size.num_heads,
        intermediate_size=size.intermediate_size,
        hidden_dropout_prob=size.dropout,
        attention_probs_dropout_prob=size.dropout,
        max_position_embeddings=block_size + pad + 2,  # positions start at pad + 1
        type_vocab_size=1,
        pad_token_id=pad,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
        tie_word_embeddings=True,
    )
    return RobertaForMaskedLM(config)


def count_parameters(model: RobertaForMaskedLM) -> int:
    """Distinct trainable parameters (tied weights counted once)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
