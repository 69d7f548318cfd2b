"""s3.poetry decoding: forms by construction, acrostics, continuations, sampling filters, beam."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.poetry.corpus import FORMS, Form, Poem, form_of
from ai_roadmap.nlp.poetry.evaluate import is_form_correct
from ai_roadmap.nlp.poetry.generate import (
    FREE,
    NeuralStepper,
    Sampling,
    Stepper,
    beam_template,
    check_request,
    filter_logits,
    form_by_name,
    free_mask,
    prefix_ids,
    repeated_ngrams,
    sample_template,
    split_lines,
    template,
    write_poem,
)
from ai_roadmap.nlp.poetry.model import LSTMConfig, PoetryLSTM
from ai_roadmap.nlp.poetry.ngram import KneserNeyLM, NGramStepper
from ai_roadmap.nlp.poetry.vocab import Vocab

POEMS = [
    Poem(("白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。")),
    Poem(("春眠不觉晓，", "处处闻啼鸟。", "夜来风雨声，", "花落知多少。")),
    Poem(("床前明月光，", "疑是地上霜。", "举头望明月，", "低头思故乡。")),
    Poem(("朝辞白帝彩云间，", "千里江陵一日还。", "两岸猿声啼不住，", "轻舟已过万重山。")),
    Poem(("春夏秋冬天地人，", "和风细雨满江城。")),
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync


@pytest.fixture(scope="module")
def vocab() -> Vocab:
    return Vocab.from_poems(POEMS)


@pytest.fixture(scope="module")
def lstm(vocab: Vocab) -> NeuralStepper:
    """An untrained LSTM: whatever it prefers, the decoders must keep the form."""
    torch.manual_seed(0)
    model = PoetryLSTM(LSTMConfig(len(vocab), embed_dim=8, hidden_size=12, num_layers=2))
    with torch.no_grad():  # make the untrained model love marks and <eos> — the worst case
        model.head.bias[:] = 0
        model.head.bias[[vocab.eos, vocab.id("，"), vocab.id("。"), vocab.unk]] = 20.0
    return NeuralStepper(model)


@pytest.fixture(scope="module")
def ngram(vocab: Vocab) -> NGramStepper:
    return NGramStepper(KneserNeyLM(3, len(vocab)).fit(vocab.encode(p) for p in POEMS))


def poem_text(lines: list[str]) -> str:
    return "".join(lines)


# ── constrained decoding ─────────────────────────────────────────────────────


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
@pytest.mark.parametrize("temperature", [0.3, 1.0, 3.0])
def test_sampling_always_yields_the_requested_form(
    lstm: NeuralStepper, vocab: Vocab, form: Form, temperature: float
) -> None:
    sampling = Sampling(temperature, top_k=0, top_p=1.0)
    for seed in range(20):
        lines = write_poem(lstm, vocab, form, sampling=sampling, seed=seed)
        assert is_form_correct(poem_text(lines), form), lines
        assert form_of(lines) == form.name and "□" not in poem_text(lines)


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
def test_beam_search_and_the_ngram_model_keep_the_form_too(
    lstm: NeuralStepper, ngram: NGramStepper, vocab: Vocab, form: Form
) -> None:
    for stepper, beam in itertools.product((lstm, ngram), (1, 3)):
        lines = write_poem(stepper, vocab, form, beam=beam)
        assert is_form_correct(poem_text(lines), form), lines
    for seed in range(5):
        lines = write_poem(ngram, vocab, form, sampling=Sampling(1.5, 5, 0.9), seed=seed)
        assert is_form_correct(poem_text(lines), form), lines


def test_a_batch_of_templates_is_filled_row_by_row(lstm: NeuralStepper, vocab: Vocab) -> None:
    form = FORMS["qilv"]
    slots = torch.tensor([template(vocab, form)] * 6)
    prefix = torch.tensor([prefix_ids(vocab, form)] * 6)
    out = sample_template(lstm, prefix, slots, free_mask(vocab), Sampling(), torch.Generator())
    fixed = slots != FREE
    assert torch.equal(out[fixed], slots[fixed])
    assert all(is_form_correct(vocab.decode(row), form) for row in out.tolist())


@pytest.mark.parametrize(
    ("form_name", "heads"), [("wujue", "春夏秋冬"), ("qilv", "春夏秋冬天地人和")]
)
def test_acrostic_heads_open_every_line(
    lstm: NeuralStepper, ngram: NGramStepper, vocab: Vocab, form_name: str, heads: str
) -> None:
    form = FORMS[form_name]
    for stepper, seed in itertools.product((lstm, ngram), range(5)):
        lines = write_poem(stepper, vocab, form, heads=heads, seed=seed)
        assert [line[0] for line in lines] == list(heads)
        assert is_form_correct(poem_text(lines), form)


def test_continuation_keeps_the_first_line(lstm: NeuralStepper, vocab: Vocab) -> None:
    for beam in (0, 2):
        lines = write_poem(lstm, vocab, FORMS["qijue"], first_line="朝辞白帝彩云间", beam=beam)
        assert lines[0] == "朝辞白帝彩云间，" and len(lines) == 4
    both = write_poem(lstm, vocab, FORMS["wujue"], heads="春夏秋冬", first_line="春眠不觉晓")
    assert both[0] == "春眠不觉晓，" and [line[0] for line in both[1:]] == list("夏秋冬")


def test_no_repeat_keeps_a_character_from_coming_back(vocab: Vocab) -> None:
    torch.manual_seed(0)
    model = PoetryLSTM(LSTMConfig(len(vocab), embed_dim=8, hidden_size=12, num_layers=1))
    with torch.no_grad():
        model.head.bias[vocab.id("山")] = 30.0  # an obsessive model: 山山山山山
    stepper, form = NeuralStepper(model), FORMS["wulv"]
    for beam in (0, 3):
        loops = write_poem(stepper, vocab, form, beam=beam, seed=0, no_repeat=0)
        assert set(poem_text(loops)) == {"山", "，", "。"}
        lines = write_poem(stepper, vocab, form, beam=beam, seed=0, no_repeat=1)
        chars = [c for line in lines for c in line[:-1]]
        assert len(set(chars)) == len(chars) == 40 and is_form_correct(poem_text(lines), form)
        lines = write_poem(stepper, vocab, form, beam=beam, seed=0, no_repeat=2)
        bigrams = [line[i : i + 2] for line in lines for i in range(len(line) - 2)]
        assert len(set(bigrams)) == len(bigrams) and "".join(lines).count("山") > 5
    heads = write_poem(stepper, vocab, FORMS["wujue"], heads="山山山山", seed=0)
    assert [line[0] for line in heads] == list("山山山山")  # fixed slots are exempt


@pytest.mark.parametrize("n", [1, 2, 3])
def test_repeated_ngrams_against_a_direct_search(n: int) -> None:
    free = torch.tensor([False, False, True, True, True, True])  # 0, 1: marks
    rng = random.Random(n)
    for _ in range(100):
        length = rng.randint(0, 9)
        history = torch.tensor(
            [[rng.choice([1, 2, 3, 4, 5]) for _ in range(length)]], dtype=torch.long
        )
        banned = repeated_ngrams(history.view(1, -1), n, free)[0]
        seq, expected = history.view(-1).tolist(), set()
        context = seq[len(seq) - n + 1 :] if n > 1 else []
        if n == 1:
            expected = {t for t in seq if free[t]}
        elif len(seq) >= n and all(free[c] for c in context):
            for j in range(len(seq) - n + 1):
                if seq[j : j + n - 1] == context and free[seq[j + n - 1]]:
                    expected.add(seq[j + n - 1])
        assert set(torch.nonzero(banned)[:, 0].tolist()) == expected, (seq, n)


@pytest.mark.parametrize(
    ("form", "first_line", "heads", "message"),
    [
        ("wujue", "", "春夏秋", "--head needs 4 characters"),
        ("wulv", "", "春夏秋冬", "--head needs 8 characters"),
        ("qijue", "白日依山尽", "", "--first-line needs 7 characters"),
        ("wujue", "白日依山尽", "黄夏秋冬", "must start with the first --head"),
        ("wujue", "", "春夏秋龘", "'龘' is not a character this model knows"),
        ("wujue", "白日，山尽", "", "'，' is not a character"),
    ],
)
def test_requests_the_form_or_model_cannot_take_are_refused(
    vocab: Vocab, form: str, first_line: str, heads: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        check_request(vocab, FORMS[form], first_line, heads)


def test_unknown_form_names_the_four_forms() -> None:
    with pytest.raises(UsageError, match=r"unknown form 'sonnet'.*wujue.*qilv"):
        form_by_name("sonnet")


def test_split_lines() -> None:
    assert split_lines("春眠不觉晓，处处闻啼鸟。夜来") == ["春眠不觉晓，", "处处闻啼鸟。", "夜来"]


# ── sampling filters and beam search ─────────────────────────────────────────


def test_top_k_and_top_p_keep_the_right_tokens() -> None:
    logits = torch.log(torch.tensor([[0.05, 0.5, 0.15, 0.3]]))
    kept = lambda s: torch.isfinite(filter_logits(logits, s))[0].tolist()  # noqa: E731
    assert kept(Sampling(top_k=2)) == [False, True, False, True]
    assert kept(Sampling(top_p=0.5)) == [False, True, False, False]  # 0.5 reaches p
    assert kept(Sampling(top_p=0.75)) == [False, True, False, True]
    assert kept(Sampling(top_p=0.81)) == [False, True, True, True]
    assert kept(Sampling(top_k=3, top_p=0.99)) == [False, True, True, True]
    probs = filter_logits(logits, Sampling(temperature=0.5)).softmax(-1)
    expected = torch.tensor([[0.05, 0.5, 0.15, 0.3]]) ** 2
    torch.testing.assert_close(probs, expected / expected.sum(), rtol=1e-5, atol=1e-7)


class TableStepper:
    """A fixed random bigram table: log p(next | last token), for exhaustive checks."""

    def __init__(self, vocab_size: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.table = torch.randn(vocab_size, vocab_size, generator=gen).mul(2).log_softmax(-1)

    def start(self, prefix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.table[prefix[:, -1]], prefix[:, -1]

    def step(self, state: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.table[tokens], tokens

    def select(self, state: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return state[rows]


def score(stepper: Stepper, prefix: list[int], tokens: list[int]) -> float:
    """Σ log p(x_t | x_<t) of a completion (masking removes tokens, it does not rescale)."""
    logprobs, state = stepper.start(torch.tensor([prefix]))
    total = 0.0
    for token in tokens:
        total += float(logprobs[0, token])
        logprobs, state = stepper.step(state, torch.tensor([token]))
    return total


@pytest.mark.parametrize("seed", range(5))
def test_a_wide_beam_finds_the_best_completion_found_by_enumeration(seed: int) -> None:
    vocab_size, free_ids = 7, [3, 4, 5, 6]
    free = torch.zeros(vocab_size, dtype=torch.bool)
    free[free_ids] = True
    stepper = TableStepper(vocab_size, seed)
    slots = torch.tensor([[FREE, FREE, 2, FREE, FREE]])  # token 2 is a fixed mark
    all_completions = [[a, b, 2, c, d] for a, b, c, d in itertools.product(free_ids, repeat=4)]
    scored = {tuple(c): score(stepper, [1], c) for c in all_completions}
    best = max(scored, key=scored.__getitem__)
    found = beam_template(stepper, torch.tensor([[1]]), slots, free, width=len(free_ids) ** 2)
    assert tuple(found[0].tolist()) == best
    greedy = beam_template(stepper, torch.tensor([[1]]), slots, free, width=1)[0].tolist()
    assert scored[tuple(greedy)] <= scored[best]


def test_the_incremental_lstm_state_matches_a_full_forward(vocab: Vocab) -> None:
    torch.manual_seed(1)
    model = PoetryLSTM(LSTMConfig(len(vocab), embed_dim=8, hidden_size=12, num_layers=2)).eval()
    stepper = NeuralStepper(model)
    tokens = torch.tensor([vocab.encode(POEMS[0])[:9], vocab.encode(POEMS[1])[:9]])  # (2, 9)
    logprobs, state = stepper.start(tokens[:, :3])
    rows = [logprobs]
    for t in range(3, 8):
        logprobs, state = stepper.step(state, tokens[:, t])
        rows.append(logprobs)
    with torch.no_grad():
        full = model(tokens)[0].log_softmax(-1)[:, 2:8]  # (2, 6, V)
    torch.testing.assert_close(torch.stack(rows, 1), full, rtol=1e-5, atol=1e-5)
    swapped = stepper.select(state, torch.tensor([1, 0]))
    torch.testing.assert_close(swapped[0][:, 0], state[0][:, 1])
