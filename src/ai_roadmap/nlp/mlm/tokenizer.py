"""A character-level tokenizer trained with Hugging Face ``tokenizers``.

Chinese has no spaces between words, and a character inventory of a few thousand covers
nearly all text, so each character is one token (the choice of Google's Chinese BERT,
which splits every CJK character apart). The pipeline:

- normaliser NFKC: full-width Latin letters and digits (``１９９８``) become ASCII, so
  the news and the reviews share one spelling;
- pre-tokeniser: split on whitespace, then isolate every character;
- model ``WordLevel`` over the characters seen at least ``min_frequency`` times (at
  most ``max_vocab`` of them, most frequent first); others become ``[UNK]``;
- post-processor ``[CLS] text [SEP]``.

Specials, ids 0–4: ``[PAD] [UNK] [CLS] [SEP] [MASK]``. The result is wrapped as a
:class:`transformers.PreTrainedTokenizerFast`, so ``save_pretrained`` writes a folder
that ``AutoTokenizer.from_pretrained`` reads back offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import ai_roadmap.nlp.mlm  # noqa: F401  (offline settings before transformers loads)

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def train_char_tokenizer(
    texts: Iterable[str], min_frequency: int = 2, max_vocab: int = 8000, max_length: int = 512
) -> PreTrainedTokenizerFast:
    """A character tokenizer fitted to ``texts`` (specials first, then by frequency).

    ``max_length`` (the model's block length, specials included) becomes
    ``model_max_length``, what ``truncation=True`` cuts to when the encoder is fine-tuned.
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordLevelTrainer
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex("."), "isolated")]
    )
    trainer = WordLevelTrainer(
        vocab_size=max_vocab + len(SPECIALS),
        min_frequency=min_frequency,
        special_tokens=list(SPECIALS),
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=max_length,
    )
