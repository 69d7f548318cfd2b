"""The char-level tokenizer, the GPT-2 policy and reward models, and their shared helpers.

A sequence is ``<bos> prompt completion <eos>``, one token per character. The tokenizer is
a Hugging Face ``PreTrainedTokenizerFast`` (word-level over single characters, a
post-processor that adds ``<bos>``, ``<pad>`` as pad token) so TRL's ``DPOTrainer`` can
use it as it is; the models are ``GPT2LMHeadModel`` / ``GPT2ForSequenceClassification``
built from a config here — nothing is downloaded.

Every prompt has the same length (:mod:`.prompts`), so a batch of prompts needs no
padding and :func:`sample` can decode with the KV cache and plain positions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)


def offline() -> None:
    """Hugging Face libraries never reach the network from here."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def build_tokenizer(texts: Iterable[str], min_freq: int = 1, keep: str = "") -> Any:
    """A char-level ``PreTrainedTokenizerFast`` over the characters of ``texts``.

    Characters seen fewer than ``min_freq`` times become ``<unk>`` (a smaller softmax);
    those of ``keep`` (the prompt template, the marks) are always in.
    """
    offline()
    from collections import Counter

    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    counts = Counter(ch for text in texts for ch in text)
    chars = sorted({ch for ch, n in counts.items() if n >= min_freq} | set(keep))
    vocab = {tok: i for i, tok in enumerate((*SPECIALS, *chars))}
    core = Tokenizer(models.WordLevel(vocab, unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, vocab[BOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )


@dataclass(frozen=True)
class ModelSize:
    """GPT-2 sizes; ``n_positions`` bounds prompt + completion."""

    n_embd: int = 128
    n_layer: int = 4
    n_head: int = 4
    n_positions: int = 64
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head or min(self.n_embd, self.n_layer, self.n_positions) < 1:
            raise ValueError(f"bad model size: {self}")


def gpt2_config(tokenizer: Any, size: ModelSize, num_labels: int = 0) -> Any:
    offline()
    from transformers import GPT2Config

    extra: dict[str, Any] = {"num_labels": num_labels} if num_labels else {}
    return GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=size.n_positions,
        n_embd=size.n_embd,
        n_layer=size.n_layer,
        n_head=size.n_head,
        resid_pdrop=size.dropout,
        embd_pdrop=size.dropout,
        attn_pdrop=size.dropout,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **extra,
    )


def build_policy(tokenizer: Any, size: ModelSize, seed: int) -> Any:
    """A fresh ``GPT2LMHeadModel``."""
    from transformers import GPT2LMHeadModel

    torch.manual_seed(seed)
    return GPT2LMHeadModel(gpt2_config(tokenizer, size))


def build_reward_model(tokenizer: Any, size: ModelSize, trunk: Any, seed: int) -> Any:
    """``GPT2ForSequenceClassification`` with one output, its trunk copied from ``trunk``.

    As in InstructGPT, the reward model starts from the SFT model: its characters'
    embeddings already know which characters end lines together. The score head starts at
    zero, so every sequence scores 0 before training.
    """
    from transformers import GPT2ForSequenceClassification

    torch.manual_seed(seed)
    model = GPT2ForSequenceClassification(gpt2_config(tokenizer, size, num_labels=1))
    model.transformer.load_state_dict(trunk.transformer.state_dict())
    torch.nn.init.zeros_(model.score.weight)
    return model


def banned_ids(tokenizer: Any) -> list[int]:
    """Tokens a completion never contains: ``<pad>``, ``<bos>``, ``<unk>``."""
    return [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.unk_token_id]


def parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class Batch:
    """Right-padded ``<bos> prompt completion <eos>`` ids and where the completion is."""

    ids: torch.Tensor  # (B, T)
    attention: torch.Tensor  # (B, T) 1 on real tokens
    completion: torch.Tensor  # (B, T) 1 on completion tokens (its <eos> included)

    def to(self, device: str) -> Batch:
        return Batch(self.ids.to(device), self.attention.to(device), self.completion.to(device))


def encode(tokenizer: Any, prompts: Sequence[str], completions: Sequence[str]) -> Batch:
    """Tokenise prompt + completion pairs into one right-padded batch."""
    rows, starts = [], []
    for prompt, text in zip(prompts, completions, strict=True):
        head = tokenizer(prompt)["input_ids"]
        tail = tokenizer(text, add_special_tokens=False)["input_ids"]
        rows.append([*head, *tail, tokenizer.eos_token_id])
        starts.append(len(head))
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    completion = torch.zeros_like(ids)
    for i, (row, start) in enumerate(zip(rows, starts, strict=True)):
        ids[i, : len(row)] = torch.tensor(row)
        attention[i, : len(row)] = 1
        completion[i, start : len(row)] = 1
    return Batch(ids, attention, completion)


def token_logprobs(model: Any, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    """log π(x_t | x_<t) of every token but the first: (B, T) → (B, T − 1)."""
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1]
    return torch.gather(F.log_softmax(logits.float(), -1), 2, ids[:, 1:, None]).squeeze(-1)


@torch.no_grad()
def sample(
    model: Any,
    prompt_ids: torch.Tensor,
    max_new: int,
    eos: int,
    pad: int,
    generator: torch.Generator,
    temperature: float = 1.0,
    banned: Sequence[int] = (),
) -> torch.Tensor:
    """Ancestral sampling with the KV cache; after ``<eos>`` a row is filled with ``pad``.

    ``prompt_ids``: (B, P), all rows the same length; ``banned``: ids never sampled
    (``<pad>``, ``<bos>``, ``<unk>``). Returns (B, P + steps), steps ≤ ``max_new``.
    """
    ban = torch.zeros(model.config.vocab_size, dtype=torch.bool, device=prompt_ids.device)
    ban[list(banned)] = True
    mask = torch.ones_like(prompt_ids)
    out = model(input_ids=prompt_ids, attention_mask=mask, use_cache=True)
    cache, logits = out.cache, out.logits[:, -1]
    done = torch.zeros(len(prompt_ids), dtype=torch.bool, device=prompt_ids.device)
    tokens = []
    for _ in range(max_new):
        probs = F.softmax(logits.float().masked_fill(ban, -torch.inf) / temperature, -1)
        nxt = torch.multinomial(probs.cpu(), 1, generator=generator).squeeze(1)
        nxt = nxt.to(prompt_ids.device).masked_fill(done, pad)
        tokens.append(nxt)
        done |= nxt == eos
        if bool(done.all()):
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], 1)  # (B, T) → (B, T + 1)
        out = model(input_ids=nxt[:, None], attention_mask=mask, cache=cache, use_cache=True)
        cache, logits = out.cache, out.logits[:, -1]
    return torch.cat([prompt_ids, torch.stack(tokens, 1)], 1)


def completion_mask(ids: torch.Tensor, prompt_len: int, pad: int) -> torch.Tensor:
    """1 on sampled tokens up to and including the first ``<eos>`` (pad never sampled)."""
    mask = torch.zeros_like(ids)
    mask[:, prompt_len:] = (ids[:, prompt_len:] != pad).long()
    return mask


def decode_completion(tokenizer: Any, row: Sequence[int], prompt_len: int) -> str:
    """The completion's characters, specials dropped (a missing ``<eos>`` is not marked)."""
    return tokenizer.decode(list(row[prompt_len:]), skip_special_tokens=True).replace(" ", "")
