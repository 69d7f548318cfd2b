"""The BiLSTM-CRF, its training loop, skip-gram and the model folder on tiny data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ai_roadmap.nlp.ner.embeddings import SGNSConfig, nearest, train_sgns
from ai_roadmap.nlp.ner.features import Vocab, bigrams_of, pieces
from ai_roadmap.nlp.ner.model import BiLSTMCRF, BiLSTMCRFConfig
from ai_roadmap.nlp.ner.tagger import Tagger, save
from ai_roadmap.nlp.ner.train import TrainConfig, collate, examples, tag_texts, train_tagger

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
TEXTS = ["江泽民在北京会见克林顿。", "李鹏到上海考察新华社。", "新华社记者在广州采访。"]
SPANS = [  # (type, start, end) of each text's entities
    [("PER", 0, 3), ("LOC", 4, 6), ("PER", 8, 11)],
    [("PER", 0, 2), ("LOC", 3, 5), ("ORG", 7, 10)],
    [("ORG", 0, 3), ("LOC", 6, 8)],
]


def bio(length: int, spans: list[tuple[str, int, int]]) -> list[str]:
    tags = ["O"] * length
    for kind, a, b in spans:
        tags[a:b] = [f"B-{kind}"] + [f"I-{kind}"] * (b - a - 1)
    return tags


LABELS = [bio(len(t), s) for t, s in zip(TEXTS, SPANS, strict=True)]


def tiny(vocab: Vocab, bigram_dim: int = 8) -> BiLSTMCRF:
    torch.manual_seed(0)
    cfg = BiLSTMCRFConfig(len(vocab.chars), len(vocab.bigrams), TAGS, 8, bigram_dim, 16, 1, 0.0)
    return BiLSTMCRF(cfg)


def test_features_and_pieces() -> None:
    assert bigrams_of("北京") == ["<s>北", "北京", "京</s>"]
    assert pieces("甲乙。丙丁戊己", 3) == [(0, 3), (3, 6), (6, 7)]
    vocab = Vocab.build(TEXTS, TAGS, 1, 1)
    chars, left, right = vocab.encode("北京X")
    assert chars[2] == 1 and left[1] == vocab.bigram_id["北京"] and right[0] == left[1]
    assert Vocab.from_json(vocab.to_json()).bigrams == vocab.bigrams


def test_training_fits_a_tiny_set_and_decodes_valid_bio() -> None:
    vocab = Vocab.build(TEXTS, TAGS, 1, 1)
    model = tiny(vocab)
    batch = collate(examples(vocab, TEXTS, LABELS, 100))
    before = float(model.loss(*batch).detach())
    cfg = TrainConfig(batch_size=3, lr=0.05, max_epochs=60, patience=60)
    report = train_tagger(model, vocab, (TEXTS, LABELS), (TEXTS, LABELS), cfg)
    assert float(model.loss(*batch).detach()) < 0.2 * before
    assert report.best_dev_f1 == 1.0
    assert tag_texts(model, vocab, TEXTS) == LABELS


def test_saved_folder_reloads_to_the_same_tagger(tmp_path: Path) -> None:
    vocab = Vocab.build(TEXTS, TAGS, 1, 1)
    model = tiny(vocab)
    folder = save(model, vocab, tmp_path / "model", {"f1": 0.5})
    tagger = Tagger.load(folder)
    assert tag_texts(tagger.model, tagger.vocab, TEXTS) == tag_texts(model, vocab, TEXTS)
    assert tagger.card.metrics["f1"] == 0.5 and tagger.card.classes == TAGS


def test_skip_gram_puts_interchangeable_tokens_together() -> None:
    # ids 2 and 3 occur in the same contexts (…5 x 6…), 4 in others (…7 4 8…)
    seqs = [[5, 2, 6], [5, 3, 6], [7, 4, 8]] * 400
    cfg = SGNSConfig(dim=8, window=1, batch_size=512, lr=0.05, epochs=3.0)
    table, report = train_sgns(seqs, 9, cfg, seed=0)
    assert report.last_loss < report.first_loss
    assert nearest(table, 2, k=1) == [3]
