"""s3.poetry model, training loop and n-gram baseline: tiny configurations, seconds each."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest
import torch

from ai_roadmap.nlp.poetry.model import LSTMConfig, PoetryLSTM
from ai_roadmap.nlp.poetry.ngram import KneserNeyLM, NGramStepper
from ai_roadmap.nlp.poetry.train import (
    PAD_ID,
    TrainConfig,
    batch_nll,
    make_batches,
    train_language_model,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


def sequences(n: int, vocab: int, seed: int) -> list[list[int]]:
    """Random <bos> … <eos> sequences of varied length over ids 4 … vocab − 1."""
    rng = np.random.default_rng(seed)
    return [[1, *rng.integers(4, vocab, rng.integers(3, 12)).tolist(), 2] for _ in range(n)]


def test_the_softmax_is_tied_to_the_embedding() -> None:
    model = PoetryLSTM(LSTMConfig(30, embed_dim=8, hidden_size=16, num_layers=2))
    assert model.head.weight is model.embed.weight
    assert model.proj is not None and model.proj.in_features == 16
    untied = PoetryLSTM(LSTMConfig(30, embed_dim=8, hidden_size=16, tie_weights=False))
    assert untied.num_parameters() - model.num_parameters() == 30 * 16 - (16 * 8 + 8)
    logits, (h, c) = model(torch.zeros(3, 5, dtype=torch.long))
    assert logits.shape == (3, 5, 30) and h.shape == c.shape == (2, 3, 16)


def test_batches_are_padded_and_padding_is_not_in_the_loss() -> None:
    seqs = sequences(10, 20, 0)
    batches = make_batches(seqs, 4)
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    assert sum(int((b != PAD_ID).sum()) for b in batches) == sum(map(len, seqs))
    lengths = [sorted(int((row != PAD_ID).sum()) for row in b) for b in batches]
    assert [max(n) for n in lengths] == [b.shape[1] for b in batches]  # padded to the longest
    assert max(lengths[0]) <= min(lengths[1])  # bucketed by length when not shuffled
    model = PoetryLSTM(LSTMConfig(20, embed_dim=8, hidden_size=8, num_layers=1, dropout=0.0))
    model.eval()
    single = [batch_nll(model, make_batches([s], 1)[0])[0].item() for s in seqs[:4]]
    together, count = batch_nll(model, make_batches(seqs[:4], 4)[0])
    assert count == sum(len(s) - 1 for s in seqs[:4])
    assert together.item() == pytest.approx(sum(single), rel=1e-5)


def test_training_overfits_a_handful_of_poems_and_reports_perplexity() -> None:
    torch.manual_seed(0)
    train = sequences(8, 16, 1)
    model = PoetryLSTM(LSTMConfig(16, embed_dim=16, hidden_size=32, num_layers=2, dropout=0.0))
    before = float(torch.tensor(batch_nll(model, make_batches(train, 8)[0])[0].item() / 80))
    config = TrainConfig(batch_size=8, lr=0.01, max_epochs=150, eval_every=25, patience=50)
    report = train_language_model(model, train, train, config)
    # the token after <bos> stays a guess among 8 poems: ln 8 ≈ 2.1 nats per ~9 tokens
    assert report.best_val_loss < 0.5 and before > 2.0
    assert report.val_perplexity == pytest.approx(math.exp(report.best_val_loss))
    assert report.steps == 150 and report.stopped == "max epochs"


def test_early_stopping_restores_the_best_weights() -> None:
    torch.manual_seed(0)
    train, val = sequences(16, 12, 2), sequences(8, 12, 3)  # unrelated: val soon worsens
    model = PoetryLSTM(LSTMConfig(12, embed_dim=16, hidden_size=32, num_layers=1, dropout=0.0))
    config = TrainConfig(batch_size=4, lr=0.02, max_epochs=200, eval_every=4, patience=3)
    report = train_language_model(model, train, val, config)
    assert report.stopped == "early stop"
    best = min(row["val_loss"] for row in report.history)
    assert report.best_val_loss == best
    assert report.history[-1]["val_loss"] > best  # it did get worse, and stopped
    from ai_roadmap.nlp.poetry.train import mean_nll

    restored = mean_nll(model, make_batches(val, 4), torch.device("cpu"))
    assert restored == pytest.approx(best, rel=1e-6)


# ── Kneser–Ney, against a direct transcription of the formula ────────────────


def reference_kn(corpus: list[list[int]], vocab: int, context: tuple[int, int], d: list[float]):  # type: ignore[no-untyped-def]
    """Trigram interpolated KN written out with plain dictionaries (left-padded with 1)."""
    tri: Counter[tuple[int, int, int]] = Counter()
    for seq in corpus:
        padded = [1, *seq]
        for t in range(2, len(padded)):
            tri[tuple(padded[t - 2 : t + 1])] += 1  # type: ignore[index]
    bi_cont: dict[tuple[int, int], set[int]] = defaultdict(set)
    for a, b, c in tri:
        bi_cont[(b, c)].add(a)
    uni_cont: dict[int, set[int]] = defaultdict(set)
    for b, c in bi_cont:
        uni_cont[c].add(b)

    def p1(w: int) -> float:
        total = sum(len(v) for v in uni_cont.values())
        seen = len(uni_cont.get(w, ()))
        return max(seen - d[0], 0) / total + d[0] * len(uni_cont) / total / vocab

    def p2(w: int, h: int) -> float:
        followers = {c: len(s) for (b, c), s in bi_cont.items() if b == h}
        total = sum(followers.values())
        if not total:
            return p1(w)
        return max(followers.get(w, 0) - d[1], 0) / total + d[1] * len(followers) / total * p1(w)

    def p3(w: int) -> float:
        followers = {c: n for (a, b, c), n in tri.items() if (a, b) == context}
        total = sum(followers.values())
        if not total:
            return p2(w, context[1])
        lower = p2(w, context[1])
        return max(followers.get(w, 0) - d[2], 0) / total + d[2] * len(followers) / total * lower

    return np.array([p3(w) for w in range(vocab)])


@pytest.mark.parametrize("context", [(1, 1), (4, 5), (5, 9), (9, 9)])
def test_kneser_ney_matches_the_formula_and_sums_to_one(context: tuple[int, int]) -> None:
    corpus = sequences(40, 10, 4)
    lm = KneserNeyLM(3, 10).fit(corpus)
    p = lm.distribution(context)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=0, atol=1e-12)
    expected = reference_kn(corpus, 10, context, lm.discounts)
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-15)
    trigram_counts = Counter(
        tuple([1, *seq][t - 2 : t + 1]) for seq in corpus for t in range(2, len(seq) + 1)
    )
    of_counts = Counter(trigram_counts.values())
    assert lm.discounts[2] == pytest.approx(of_counts[1] / (of_counts[1] + 2 * of_counts[2]))


def test_the_ngram_stepper_follows_its_context() -> None:
    lm = KneserNeyLM(3, 10).fit(sequences(40, 10, 5))
    stepper = NGramStepper(lm)
    logprobs, state = stepper.start(torch.tensor([[1, 4, 5], [1, 1, 6]]))
    assert state == [(4, 5), (1, 6)]
    logprobs, state = stepper.step(state, torch.tensor([7, 8]))
    assert state == [(5, 7), (6, 8)]
    np.testing.assert_allclose(logprobs[0].exp().numpy(), lm.distribution((5, 7)), rtol=1e-6)
    assert stepper.select(state, torch.tensor([1, 1])) == [(6, 8), (6, 8)]
