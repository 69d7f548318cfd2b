"""A tiny RoBERTa encoder and char-level tokenizer saved as a Hugging Face folder, offline."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def char_tokenizer(chars: Iterable[str]):  # type: ignore[no-untyped-def]
    """A ``PreTrainedTokenizerFast`` with one token per character (others map to ``<unk>``)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIALS)}
    for char in sorted(set(chars)):
        vocab.setdefault(char, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
    )  # fmt: skip


def save_tiny_encoder(
    folder: Path,
    chars: Iterable[str],
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_positions: int = 66,
    seed: int = 0,
) -> Path:
    """A random ``RobertaForMaskedLM`` and its tokenizer, ``save_pretrained`` to ``folder``."""
    import torch
    from transformers import RobertaConfig, RobertaForMaskedLM

    tokenizer = char_tokenizer(chars)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    RobertaForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
