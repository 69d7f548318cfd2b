"""The char-level tokenizer, batching, sampling with the KV cache, and the PPO policy."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.multimodal.rlhf import lm
from ai_roadmap.multimodal.rlhf.rollout import PolicyWithValue

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny tensors: threads only sync

PROMPT = "写一首五言绝句，首句含「日」："
POEM = "白日依山尽，黄河入海流。"


def _tokenizer() -> object:
    return lm.build_tokenizer([PROMPT + POEM])


def test_the_tokenizer_is_one_token_per_character_with_bos_and_pad() -> None:
    tk = _tokenizer()
    ids = tk(POEM)["input_ids"]  # type: ignore[operator]
    assert ids[0] == tk.bos_token_id and len(ids) == len(POEM) + 1  # type: ignore[attr-defined]
    assert tk.decode(ids, skip_special_tokens=True).replace(" ", "") == POEM  # type: ignore[attr-defined]
    assert tk.pad_token_id == 0 and tk("鹤")["input_ids"][1] == tk.unk_token_id  # type: ignore[attr-defined,operator]


def test_encode_marks_the_completion_and_pads_on_the_right() -> None:
    tk = _tokenizer()
    batch = lm.encode(tk, [PROMPT, PROMPT], [POEM, POEM[:6]])
    assert batch.ids.shape == (2, 1 + len(PROMPT) + len(POEM) + 1)
    assert batch.completion[0].sum() == len(POEM) + 1  # its <eos> included
    assert batch.completion[1].sum() == 7 and batch.attention[1].sum() == 1 + len(PROMPT) + 7
    assert int(batch.ids[1, -1]) == tk.pad_token_id  # type: ignore[attr-defined]


def test_cached_sampling_follows_the_full_forward_pass() -> None:
    """Greedy decoding (temperature → 0) with the cache equals argmax of the full pass."""
    tk = _tokenizer()
    model = lm.build_policy(tk, lm.ModelSize(32, 2, 2, 64), seed=0).eval()
    prompt = torch.tensor([tk(PROMPT)["input_ids"]] * 2)  # type: ignore[operator]
    banned = lm.banned_ids(tk)
    ids = lm.sample(model, prompt, 12, eos=-1, pad=0, generator=torch.Generator(),
                    temperature=1e-6, banned=banned)  # fmt: skip
    with torch.no_grad():
        logits = model(input_ids=ids).logits[:, prompt.shape[1] - 1 : -1]
    logits[..., banned] = -torch.inf
    assert torch.equal(logits.argmax(-1), ids[:, prompt.shape[1] :])


def test_sampling_never_emits_banned_tokens_and_pads_after_eos() -> None:
    tk = _tokenizer()
    model = lm.build_policy(tk, lm.ModelSize(32, 2, 2, 64), seed=0).eval()
    prompt = torch.tensor([tk(PROMPT)["input_ids"]] * 16)  # type: ignore[operator]
    eos = tk.eos_token_id  # type: ignore[attr-defined]
    ids = lm.sample(model, prompt, 30, eos, 0, torch.Generator().manual_seed(0), 1.0, [0, 1, 3])
    tail = ids[:, prompt.shape[1] :]
    for row in tail.tolist():
        cut = row.index(eos) + 1 if eos in row else len(row)
        assert all(t not in (0, 1, 3) for t in row[:cut]) and all(t == 0 for t in row[cut:])


def test_the_policy_value_head_starts_at_zero_and_aligns_with_the_actions() -> None:
    tk = _tokenizer()
    policy = PolicyWithValue(lm.build_policy(tk, lm.ModelSize(32, 2, 2, 64), seed=0))
    batch = lm.encode(tk, [PROMPT], [POEM])
    logp, values = policy(batch.ids, batch.attention)
    assert logp.shape == values.shape == (1, batch.ids.shape[1] - 1)
    assert values.abs().max() == 0
    direct = lm.token_logprobs(policy.lm, batch.ids, batch.attention)
    torch.testing.assert_close(logp, direct)
