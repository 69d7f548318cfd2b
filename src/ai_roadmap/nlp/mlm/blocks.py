"""Packing texts into fixed-length blocks for MLM.

Texts are tokenised without specials, joined with ``[SEP]`` and cut into pieces of
``block_size − 2`` tokens, each wrapped as ``[CLS] piece [SEP]`` — the RoBERTa recipe
("FULL-SENTENCES": contiguous text across document boundaries), which wastes no
positions on padding; only the last block may be shorter (the collator pads it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast


def pack_blocks(
    tokenizer: PreTrainedTokenizerFast, texts: Sequence[str], block_size: int
) -> list[list[int]]:
    """Blocks of at most ``block_size`` ids, each ``[CLS] … [SEP]``."""
    if block_size < 3:
        raise ValueError("block_size must leave room for [CLS] and [SEP] around a token")
    sep, cls = tokenizer.sep_token_id, tokenizer.cls_token_id
    # the Rust tokenizer directly: texts longer than a block are expected here
    encoded = tokenizer.backend_tokenizer.encode_batch(list(texts), add_special_tokens=False)
    stream: list[int] = []
    for encoding in encoded:
        if encoding.ids:
            stream.extend(encoding.ids)
            stream.append(sep)
    width = block_size - 2
    return [[cls, *stream[i : i + width], sep] for i in range(0, len(stream), width)]


def count_tokens(blocks: Sequence[Sequence[int]]) -> int:
    """Positions in the blocks, specials included (what the model reads)."""
    return sum(len(b) for b in blocks)
