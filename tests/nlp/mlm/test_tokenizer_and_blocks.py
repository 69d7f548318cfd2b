"""The character tokenizer and block packing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap.nlp.mlm.blocks import count_tokens, pack_blocks
from ai_roadmap.nlp.mlm.tokenizer import SPECIALS, train_char_tokenizer

TEXTS = ["春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。", "１９９８年 新年讲话", "春风"]


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    return train_char_tokenizer(TEXTS, min_frequency=1, max_vocab=100, max_length=16)


def test_specials_come_first_and_every_character_is_one_token(tokenizer) -> None:  # type: ignore[no-untyped-def]
    assert [tokenizer.convert_ids_to_tokens(i) for i in range(5)] == list(SPECIALS)
    assert tokenizer.tokenize("春眠不觉晓") == list("春眠不觉晓")
    ids = tokenizer("春风")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert len(ids) == 4 and tokenizer.model_max_length == 16


def test_full_width_digits_are_normalised_and_unseen_characters_are_unknown(tokenizer) -> None:  # type: ignore[no-untyped-def]
    assert tokenizer.tokenize("１９ 98") == ["1", "9", "9", "8"]
    assert tokenizer.convert_tokens_to_ids(tokenizer.tokenize("龘")) == [tokenizer.unk_token_id]


def test_min_frequency_and_max_vocab_bound_the_vocabulary() -> None:
    rare = train_char_tokenizer(["甲甲甲乙乙丙"], min_frequency=2, max_vocab=100)
    assert len(rare) == len(SPECIALS) + 2  # 甲 and 乙; 丙 is seen once
    small = train_char_tokenizer(["甲甲甲乙乙丙"], min_frequency=1, max_vocab=1)
    assert small.tokenize("甲") == ["甲"] and small.convert_tokens_to_ids("乙") == 1


def test_the_saved_tokenizer_loads_offline_with_autotokenizer(tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded("花落知多少")["input_ids"] == tokenizer("花落知多少")["input_ids"]
    assert loaded.mask_token == "[MASK]" and loaded.pad_token_id == 0


def test_blocks_wrap_contiguous_text_in_cls_and_sep(tokenizer) -> None:  # type: ignore[no-untyped-def]
    blocks = pack_blocks(tokenizer, TEXTS, block_size=8)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert all(b[0] == cls and b[-1] == sep and len(b) <= 8 for b in blocks)
    assert all(len(b) == 8 for b in blocks[:-1])
    stream = [t for b in blocks for t in b[1:-1]]
    expected: list[int] = []
    for text in TEXTS:
        expected += tokenizer(text, add_special_tokens=False)["input_ids"] + [sep]
    assert stream == expected
    assert count_tokens(blocks) == len(expected) + 2 * len(blocks)
    with pytest.raises(ValueError, match="block_size"):
        pack_blocks(tokenizer, TEXTS, block_size=2)
