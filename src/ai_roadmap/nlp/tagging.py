"""Characters ↔ token ids for a char-level HF tokenizer, and BIO decoding of a token classifier.

Alignment. The tokenizer is character-level, so each character is looked up in its vocabulary
directly (after the tokenizer's own normalizer, if it has one): one token per character, and a
character outside the vocabulary becomes ``<unk>``. The special start/end tokens wrap the
sequence as the encoder saw them in pretraining; their positions carry the ignore label −100.
A text longer than ``max_len − 2`` characters is tagged in consecutive pieces, so every
character gets a tag.

Decoding. The argmax tag of each character is repaired to valid BIO: an ``I-X`` that does not
follow ``B-X`` or ``I-X`` becomes ``B-X`` (``repair_bio`` counts how often). A CRF would learn
these transitions; this simple repair keeps a softmax head's output well-formed without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from ai_roadmap.errors import UsageError

Tagged = tuple[str, list[str]]  # a sentence and one BIO tag per character
IGNORE = -100  # the label cross-entropy skips (special tokens, padding)


class CharEncoder:
    """One token id per character, plus the tokenizer's start/end/pad ids."""

    def __init__(self, tokenizer: Any) -> None:
        self.vocab: dict[str, int] = tokenizer.get_vocab()
        self.unk = tokenizer.unk_token_id
        if self.unk is None:
            raise UsageError("the tokenizer has no unk token; save it with unk_token set")
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.normalizer = getattr(backend, "normalizer", None)
        # BERT-style tokenizers name them cls/sep, RoBERTa-style bos/eos (often both)
        cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.start = cls if cls is not None else tokenizer.bos_token_id
        self.end = sep if sep is not None else tokenizer.eos_token_id
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.specials = int(self.start is not None) + int(self.end is not None)
        self._cache: dict[str, int] = {}

    def char_id(self, char: str) -> int:
        if char not in self._cache:
            normal = self.normalizer.normalize_str(char) if self.normalizer else char
            self._cache[char] = self.vocab.get(normal, self.vocab.get(char, self.unk))
        return self._cache[char]

    def ids(self, text: str) -> list[int]:
        """Token ids of ``text`` wrapped in the special tokens, one per character."""
        body = [self.char_id(c) for c in text]
        return [self.start] * (self.start is not None) + body + [self.end] * (self.end is not None)


def check_max_len(config: Any, max_len: int, specials: int) -> None:
    """A ``UsageError`` when ``max_len`` tokens do not fit the encoder's position table.

    RoBERTa-style models number positions from ``pad_token_id + 1``, so they hold
    ``max_position_embeddings − pad_token_id − 1`` tokens; BERT-style ones all of them.
    """
    positions = int(getattr(config, "max_position_embeddings", max_len))
    if "roberta" in str(getattr(config, "model_type", "")):
        positions -= int(config.pad_token_id or 0) + 1
    if max_len > positions or max_len <= specials:
        raise UsageError(
            f"max_len {max_len} does not fit this encoder: it holds {positions} tokens, "
            f"{specials} of them special; pick max_len between {specials + 1} and {positions}"
        )


def repair_bio(tags: Sequence[str]) -> tuple[list[str], int]:
    """``I-X`` not after ``B-X``/``I-X`` becomes ``B-X``; returns the tags and the repairs made."""
    out, repairs, previous = [], 0, "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag, repairs = "B-" + tag[2:], repairs + 1
        out.append(tag)
        previous = tag
    return out, repairs


def label_set(data: Sequence[Tagged]) -> list[str]:
    """``O`` then ``B-X``, ``I-X`` for every type X seen, sorted."""
    kinds = {tag[2:] for _, tags in data for tag in tags if tag != "O"}
    return ["O"] + [f"{p}-{kind}" for kind in sorted(kinds) for p in ("B", "I")]


def check_tagged(name: str, data: Sequence[Tagged], labels: Sequence[str]) -> None:
    """A ``UsageError`` naming the first sentence whose tags do not fit its text or label set."""
    known = set(labels)
    for i, (text, tags) in enumerate(data):
        if len(text) != len(tags):
            raise UsageError(f"{name}[{i}] has {len(text)} characters but {len(tags)} tags")
        unknown = set(tags) - known
        if unknown:
            raise UsageError(f"{name}[{i}] has tags {sorted(unknown)} not among {list(labels)}")


def collate(rows: Sequence[tuple[list[int], list[int]]], pad: int) -> dict[str, Tensor]:
    """Pad to the longest row: input_ids, attention_mask, labels, each (B, T)."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row_ids, row_labels) in enumerate(rows):
        ids[i, : len(row_ids)] = torch.tensor(row_ids)
        labels[i, : len(row_labels)] = torch.tensor(row_labels)
        mask[i, : len(row_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@torch.no_grad()
def predict_tags(
    model: Any, tokenizer: Any, texts: Sequence[str], max_len: int = 128, batch_size: int = 32
) -> tuple[list[list[str]], int]:
    """BIO tags for every character of each text (long texts in pieces); and the repairs made."""
    enc = CharEncoder(tokenizer)
    check_max_len(model.config, max_len, enc.specials)
    id2label = model.config.id2label
    keep = max_len - enc.specials
    pieces = [
        (i, s, text[s : s + keep])
        for i, text in enumerate(texts)
        for s in range(0, len(text), keep)
    ]
    pieces.sort(key=lambda p: len(p[2]))
    raw: list[list[str]] = [[""] * len(text) for text in texts]
    device = next(model.parameters()).device
    model.eval()
    for b in range(0, len(pieces), batch_size):
        group = pieces[b : b + batch_size]
        batch = collate([(enc.ids(p[2]), []) for p in group], enc.pad)
        logits = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=batch["attention_mask"].to(device),
        ).logits  # (B, T, num_labels)
        best = logits.argmax(-1).cpu()
        offset = int(enc.start is not None)
        for row, (i, s, piece) in enumerate(group):
            for k in range(len(piece)):
                raw[i][s + k] = id2label[int(best[row, offset + k])]
    repaired = [repair_bio(tags) for tags in raw]
    return [tags for tags, _ in repaired], sum(n for _, n in repaired)
