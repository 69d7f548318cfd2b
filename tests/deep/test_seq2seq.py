"""Seq2seq with attention: the vocabularies, attention against hand computations, the
model's shapes and learning, and a saved model folder that reloads and decodes the same."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ai_roadmap.datasets.dates import make_dates
from ai_roadmap.deep import seq2seq as s2s

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


# ---------------------------------------------------------------- vocabulary


def test_vocab_round_trip_and_padding() -> None:
    vocab = s2s.Vocab("0123456789-")
    ids = vocab.encode(["2021-03-03", "1-2"], eos=True)
    assert ids.shape == (2, 11)
    assert ids[1, 3].item() == s2s.EOS and (ids[1, 4:] == s2s.PAD).all()
    assert [vocab.decode(row) for row in ids] == ["2021-03-03", "1-2"]
    assert vocab.encode(["x"])[0, 0].item() == s2s.UNK


def test_encode_pairs_shifts_the_target_right() -> None:
    vocab = s2s.Vocab("0123456789-")
    data = s2s.encode_pairs(["ab"], ["12"], s2s.Vocab("ab"), vocab)
    assert data.tgt_in[0].tolist() == [s2s.SOS, vocab.stoi["1"], vocab.stoi["2"]]
    assert data.tgt_out[0].tolist() == [vocab.stoi["1"], vocab.stoi["2"], s2s.EOS]


# ---------------------------------------------------------------- attention


def memory(batch: int = 3, steps: int = 5, key: int = 4, lengths=(5, 3, 1)) -> s2s.Memory:
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(batch, steps, key, generator=gen, dtype=torch.float64)
    mask = torch.arange(steps)[None, :] < torch.tensor(lengths)[:, None]
    return s2s.Memory(values, values, mask)


def test_dot_attention_matches_a_hand_computation() -> None:
    mem = memory()
    query = torch.randn(3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    context, weights = s2s.DotAttention()(query, mem)
    assert context.shape == (3, 4) and weights.shape == (3, 5)
    for b in range(3):
        n = int(mem.mask[b].sum())
        scores = [sum(query[b, k] * mem.values[b, j, k] for k in range(4)) for j in range(n)]
        exp = [math.exp(float(e)) for e in scores]
        alpha = [e / sum(exp) for e in exp] + [0.0] * (5 - n)
        torch.testing.assert_close(weights[b], torch.tensor(alpha, dtype=torch.float64))
        want = sum(alpha[j] * mem.values[b, j] for j in range(n))
        torch.testing.assert_close(context[b], want)


def test_additive_attention_matches_a_hand_computation() -> None:
    torch.manual_seed(0)
    attn = s2s.AdditiveAttention(query_size=6, key_size=4, attn_size=3).double()
    mem = memory()
    mem = mem._replace(keys=attn.prepare(mem.values))
    query = torch.randn(3, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    context, weights = attn(query, mem)
    w_q, w_k, b_k, v = attn.w_query.weight, attn.w_key.weight, attn.w_key.bias, attn.v.weight[0]
    for b in range(3):
        n = int(mem.mask[b].sum())
        scores = torch.stack(
            [v @ torch.tanh(w_q @ query[b] + w_k @ mem.values[b, j] + b_k) for j in range(n)]
        )
        alpha = torch.cat([torch.softmax(scores, 0), torch.zeros(5 - n, dtype=torch.float64)])
        torch.testing.assert_close(weights[b], alpha)
        torch.testing.assert_close(context[b], alpha @ mem.values[b])


@pytest.mark.parametrize("kind", s2s.ATTENTIONS)
def test_weights_are_a_distribution_over_real_positions(kind: str) -> None:
    torch.manual_seed(0)
    attn = s2s.DotAttention() if kind == "dot" else s2s.AdditiveAttention(4, 4, 3).double()
    mem = memory()
    mem = mem._replace(keys=attn.prepare(mem.values))
    _, weights = attn(torch.randn(3, 4, dtype=torch.float64), mem)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, dtype=torch.float64))
    assert (weights >= 0).all()
    assert (weights[~mem.mask] == 0).all()


def test_context_gradient_is_alpha_times_annotation_minus_context() -> None:
    """The docstring's derivation: ∂c/∂e_j = α_j (h_j − c)."""
    mem = memory(batch=1, lengths=(5,))
    scores = torch.randn(1, 5, dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(
        lambda e: s2s.attend(e, mem.values, mem.mask)[0], scores
    )[0, :, 0, :]  # (K, T)
    context, alpha = s2s.attend(scores, mem.values, mem.mask)
    want = alpha[0][None, :] * (mem.values[0] - context[0]).T  # column j: α_j (h_j − c)
    torch.testing.assert_close(jac, want)


# ---------------------------------------------------------------- the model


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="dot attention"):
        s2s.Seq2SeqConfig(10, 10, enc_hidden=8, dec_hidden=8, attention="dot")
    with pytest.raises(ValueError, match="attention"):
        s2s.Seq2SeqConfig(10, 10, attention="cosine")


@pytest.mark.parametrize("kind", s2s.ATTENTIONS)
def test_model_shapes_and_that_padding_is_ignored_by_attention(kind: str) -> None:
    torch.manual_seed(0)
    cfg = s2s.Seq2SeqConfig(9, 7, embed=4, enc_hidden=3, dec_hidden=6, attn_size=5,
                            attention=kind)  # fmt: skip
    model = s2s.Seq2Seq(cfg)
    src = torch.tensor([[4, 5, 6, 0, 0], [4, 5, 6, 7, 8]])
    logits = model(src, torch.tensor([[s2s.SOS, 4, 5], [s2s.SOS, 5, 6]]))
    assert logits.shape == (2, 3, 7)
    ids, weights = model.greedy(src, max_len=4)
    assert ids.shape == (2, 4) and weights.shape == (2, 4, 5)
    assert (weights[0, :, 3:] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4))


@pytest.mark.parametrize("kind", s2s.ATTENTIONS)
def test_padding_does_not_change_the_output(kind: str) -> None:
    torch.manual_seed(0)
    cfg = s2s.Seq2SeqConfig(9, 7, embed=4, enc_hidden=3, dec_hidden=6, attn_size=5,
                            attention=kind)  # fmt: skip
    model = s2s.Seq2Seq(cfg)
    alone = torch.tensor([[4, 5, 6]])
    padded = torch.tensor([[4, 5, 6, 0, 0], [4, 5, 6, 7, 8]])
    torch.testing.assert_close(model(alone, alone)[0], model(padded, padded[:, :3])[0])


@pytest.mark.parametrize("kind", s2s.ATTENTIONS)
def test_a_tiny_model_learns_a_handful_of_dates(kind: str) -> None:
    train, _ = make_dates(0, 16, 10)
    src, tgt = s2s.Vocab("".join(train.sources)), s2s.Vocab("0123456789-")
    data = s2s.encode_pairs(train.sources, train.targets, src, tgt)
    torch.manual_seed(0)
    model = s2s.Seq2Seq(s2s.Seq2SeqConfig(len(src), len(tgt), 8, 16, 32, 16, kind))
    losses = s2s.train(model, data, 60, 16, 1e-2, 1.0, torch.Generator().manual_seed(0))
    assert sum(losses[-5:]) < 0.5 * sum(losses[:5])


def test_exact_match() -> None:
    assert s2s.exact_match(["2021-03-03", "2021-03-04"], ["2021-03-03", "2021-03-05"]) == 0.5
    with pytest.raises(ValueError):
        s2s.exact_match([], [])


# ---------------------------------------------------------------- a model on disk


def tiny_model(kind: str = "additive") -> tuple[s2s.Seq2Seq, s2s.Vocab, s2s.Vocab]:
    src, tgt = s2s.Vocab("abc年"), s2s.Vocab("0123456789-")
    torch.manual_seed(0)
    cfg = s2s.Seq2SeqConfig(len(src), len(tgt), 4, 3, 6, 5, kind)
    return s2s.Seq2Seq(cfg).eval(), src, tgt


@pytest.mark.parametrize("kind", s2s.ATTENTIONS)
def test_a_saved_folder_reloads_the_same_model_and_vocabularies(kind: str, tmp_path: Path) -> None:
    model, src, tgt = tiny_model(kind)
    folder = s2s.save_seq2seq(model, src, tgt, tmp_path / "model")
    again, src_again, tgt_again = s2s.load_seq2seq(folder)
    assert not again.training and again.cfg == model.cfg
    assert src_again.itos == src.itos and tgt_again.itos == tgt.itos
    ids = src.encode(["ab", "c年ab"])
    with torch.no_grad():
        torch.testing.assert_close(again.greedy(ids, 5), model.greedy(ids, 5), rtol=0, atol=0)


def test_a_changed_vocabulary_file_is_refused(tmp_path: Path) -> None:
    from ai_roadmap.errors import IntegrityError

    model, src, tgt = tiny_model()
    folder = s2s.save_seq2seq(model, src, tgt, tmp_path / "model")
    vocab = folder / s2s.VOCAB_FILE
    vocab.write_text(vocab.read_text(encoding="utf-8").replace('"a"', '"z"'), encoding="utf-8")
    with pytest.raises(IntegrityError, match="sha256"):
        s2s.load_seq2seq(folder)


def test_a_vocabulary_without_the_special_ids_is_refused() -> None:
    with pytest.raises(ValueError, match="starts with"):
        s2s.Vocab.from_itos(["a", "b"])
