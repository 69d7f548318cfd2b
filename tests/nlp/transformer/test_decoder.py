"""The decoder: configuration, shapes, learning, generation with and without the cache."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from ai_roadmap.nlp.transformer.cache import KVCache
from ai_roadmap.nlp.transformer.decoder import DecoderConfig, DecoderLM
from ai_roadmap.nlp.transformer.stepper import DecoderStepper

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(positions: str = "rope", dropout: float = 0.0) -> DecoderLM:
    torch.manual_seed(0)
    return DecoderLM(
        DecoderConfig(
            vocab_size=30,
            d_model=32,
            n_heads=4,
            n_layers=2,
            d_ff=64,
            max_len=40,
            dropout=dropout,
            positions=positions,  # type: ignore[arg-type]
        )
    )


@pytest.mark.parametrize(
    "sizes",
    [
        {"d_model": 30, "n_heads": 4},
        {"d_model": 12, "n_heads": 4},
        {"positions": "alibi"},
        {"dropout": 1.0},
    ],
)
def test_bad_sizes_are_refused(sizes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DecoderConfig(vocab_size=10, **sizes)  # type: ignore[arg-type]


def test_logits_shape_and_too_long_input() -> None:
    model = tiny()
    assert model(torch.randint(0, 30, (3, 7))).shape == (3, 7, 30)
    with pytest.raises(ValueError, match="exceed max_len"):
        model(torch.zeros(1, 41, dtype=torch.long))


@pytest.mark.parametrize("positions", ["rope", "sinusoidal"])
def test_one_batch_is_overfitted(positions: str) -> None:
    model = tiny(positions)
    batch = torch.randint(1, 30, (4, 12), generator=torch.Generator().manual_seed(1))
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, 30), batch[:, 1:].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[0] > 3.0 and losses[-1] < 0.1


def test_generation_with_the_cache_writes_the_same_tokens() -> None:
    model = tiny("sinusoidal").eval()
    prompt = torch.randint(1, 30, (2, 3), generator=torch.Generator().manual_seed(2))
    fast = model.generate(prompt, 15, temperature=0)
    slow = model.generate(prompt, 15, temperature=0, use_cache=False)
    assert fast.shape == (2, 18) and torch.equal(fast, slow)
    drawn = model.generate(prompt, 10, generator=torch.Generator().manual_seed(0))
    again = model.generate(prompt, 10, generator=torch.Generator().manual_seed(0), use_cache=False)
    assert torch.equal(drawn, again)


def test_the_stepper_reorders_its_cache_like_recomputation() -> None:
    """Beam search's select: rows picked from the cache give the logits of their own prefixes."""
    model = tiny().eval()
    stepper = DecoderStepper(model)
    prefix = torch.randint(1, 30, (3, 4), generator=torch.Generator().manual_seed(3))
    _, state = stepper.start(prefix)
    rows = torch.tensor([2, 0, 0])
    state = stepper.select(state, rows)
    tokens = torch.tensor([5, 6, 7])
    logprobs, state = stepper.step(state, tokens)
    sequences = torch.cat([prefix[rows], tokens[:, None]], dim=1)
    with torch.no_grad():
        expected = F.log_softmax(model(sequences)[:, -1], dim=-1)
    torch.testing.assert_close(logprobs, expected, atol=1e-5, rtol=0)
    assert isinstance(state, KVCache) and state.length == 5


def test_padded_prompts_in_the_cache_are_ignored() -> None:
    model = tiny().eval()
    ids = torch.tensor([[0, 0, 5, 6], [4, 5, 6, 7]])
    keep = ids != 0
    cache = KVCache()
    with torch.no_grad():
        first = model(ids, keep, cache=cache)
        step = model(torch.tensor([[8], [8]]), cache=cache)[:, -1]
        full = model(
            torch.cat([ids, torch.tensor([[8], [8]])], 1),
            torch.cat([keep, torch.ones(2, 1).bool()], 1),
        )
    assert torch.isfinite(first).all()
    torch.testing.assert_close(step, full[:, -1], atol=1e-5, rtol=0)


def test_a_saved_decoder_loads_back_through_the_poetry_store(tmp_path: Path) -> None:
    from ai_roadmap.nlp.poetry.corpus import Poem
    from ai_roadmap.nlp.poetry.store import load, save
    from ai_roadmap.nlp.poetry.vocab import Vocab

    vocab = Vocab.from_poems([Poem(("白日依山尽，", "黄河入海流。"))])
    torch.manual_seed(0)
    model = DecoderLM(DecoderConfig(vocab_size=len(vocab), d_model=16, n_heads=2, n_layers=1))
    folder = save(model, vocab, tmp_path / "model", {"x": 1.0}, name="s4.transformer")
    loaded, loaded_vocab, card = load(folder)
    assert isinstance(loaded, DecoderLM) and card.name == "s4.transformer"
    ids = torch.tensor([vocab.encode(Poem(("白日依山尽，", "黄河入海流。")))])
    torch.testing.assert_close(loaded(ids), model.eval()(ids))
    assert loaded_vocab == vocab
