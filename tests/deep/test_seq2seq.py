"""s3.rnn seq2seq: the date generator, the vocabularies, attention against hand
computations, the model's shapes and learning, and the smoke run of the milestone."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
import torch

from ai_roadmap.deep import seq2seq as s2s

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


# ---------------------------------------------------------------- the date task


def test_known_renderings() -> None:
    day = date(2021, 3, 3)  # a Wednesday
    assert s2s.render(day, "d MMMM yyyy") == "3 March 2021"
    assert s2s.render(day, "MMMM d, yyyy") == "March 3, 2021"
    assert s2s.render(day, "MM/dd/yyyy") == "03/03/2021"
    assert s2s.render(day, "EEE, d MMM yy") == "Wed, 3 Mar 21"
    assert s2s.render(day, "yyyy年M月d日") == "2021年3月3日"
    assert s2s.render(date(1999, 12, 21), "M/d/yy") == "12/21/99"
    assert s2s.render(date(1999, 12, 21), "dd.MM.yyyy") == "21.12.1999"


@pytest.mark.parametrize(
    ("n", "text"),
    [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
     (21, "21st"), (22, "22nd"), (23, "23rd"), (30, "30th"), (31, "31st")],
)  # fmt: skip
def test_ordinal(n: int, text: str) -> None:
    assert s2s.ordinal(n) == text


def test_every_string_names_one_date() -> None:
    """Over the whole 1950–2049 window no string stands for two dates, in any format."""
    first, meaning = date(1950, 1, 1), {}
    for k in range((date(2049, 12, 31) - first).days + 1):
        day = first + timedelta(days=k)
        for fmt in s2s.FORMATS:
            assert meaning.setdefault(s2s.render(day, fmt), day) == day


def test_generator_is_seeded() -> None:
    a, b, c = s2s.make_dates(3, 300, 50), s2s.make_dates(3, 300, 50), s2s.make_dates(4, 300, 50)
    assert a == b
    assert a != c


def test_held_out_dates_are_never_seen_in_training() -> None:
    train, test = s2s.make_dates(0, 20000, 2000)
    assert len(set(test.targets)) == 2000  # distinct held-out dates
    assert not set(test.targets) & set(train.targets)
    assert not set(test.sources) & set(train.sources)
    assert set(train.formats) == set(s2s.FORMATS)
    for text, iso, fmt in zip(test.sources, test.targets, test.formats, strict=True):
        assert s2s.render(date.fromisoformat(iso), fmt) == text
        assert 1950 <= int(iso[:4]) <= 2049


def test_generator_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="century"):
        s2s.make_dates(0, 10, 5, first_year=1900, last_year=2049)
    with pytest.raises(ValueError, match="n_test"):
        s2s.make_dates(0, 10, 0)


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
    train, _ = s2s.make_dates(0, 16, 10)
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


# ---------------------------------------------------------------- the milestone


def test_smoke_run_reports_metrics_and_writes_the_heatmaps(roadmap_home: Path, tmp_path) -> None:
    from ai_roadmap.config import compose
    from ai_roadmap.milestones.s3 import rnn as rnn_run

    cfg = compose("s3.rnn", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    threads = torch.get_num_threads()
    result = rnn_run.run(cfg)
    assert torch.get_num_threads() == threads  # restored
    m = result.metrics
    assert m["checks_failed"] == 0 and m["checks_passed"] == 5
    assert 0.0 <= m["seq2seq_exact_match"] <= 1.0
    assert m["seq2seq_exact_match"] == m["exact_match_additive"]
    assert {"exact_match_dot", "grad_log10_ratio_rnn", "grad_log10_ratio_lstm"} <= m.keys()
    for name in ("attention_additive.png", "attention_dot.png", "gradient_flow.png"):
        path = result.artifacts[name]
        assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    assert result.model_path is not None and result.model_path.exists()
    assert not result.proxy
