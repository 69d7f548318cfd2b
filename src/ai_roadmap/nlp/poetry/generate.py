"""Writing poems: sampling, beam search, and constrained decoding of a form.

**Stepping.** A decoder needs one thing from a language model: log p(· | x_≤t) for the
next token. :class:`Stepper` is that interface (``start`` on a prefix, ``step`` on one new
token per row, ``select`` to reorder rows for beam search); :class:`NeuralStepper` wraps
the LSTM (and any model with the same ``model(tokens, state)`` signature) and the n-gram
baseline implements it too, so both are decoded by the same code.

**Constrained decoding.** A form (五言绝句: 4 lines × 5 characters, see
:data:`~ai_roadmap.nlp.poetry.corpus.FORMS`) is a *template* of slots: each slot is either
a fixed token — the mark closing each line (， after lines 1, 3, 5, 7; 。 after 2, 4, 6, 8),
the final ``<eos>``, a given first line, an acrostic head character — or free. A free slot
may only take a character: marks, ``<unk>`` and the specials get probability 0. In log
space, for slot s with allowed set A_s (its fixed token, or all characters)::

    log p̃(v) = log p(v | x_<s)  if v ∈ A_s,   −∞ otherwise

and the decoders renormalise (sampling) or rank (beam search) over A_s only. The output
therefore has the requested form by construction, whatever the model's weights: line
count, line lengths, marks, heads and first line are never left to chance.

**No repeats.** Optionally a free slot may not complete an n-gram of characters the poem
already has (``no_repeat`` = n; 0: off). n = 1 forbids any repeated character — regulated
verse avoids them (重字), and ``roadmap poem`` uses it; n = 2 only forbids a repeated
bigram, which is enough to cure the loops ("春风春风…") that beam search and
low-temperature sampling fall into, and is what the evaluation uses. Fixed slots (heads,
the first line) are exempt.

**Sampling** divides the logits by a temperature T (T < 1 sharpens, T > 1 flattens),
keeps the k most likely tokens (top-k, Fan et al. 2018) and/or the smallest set whose
probability reaches p (top-p / nucleus, Holtzman et al. 2020), renormalises and draws.
**Beam search** keeps the K highest-scoring partial poems by Σ log p̃; since every
completion of a template has the same length, no length normalisation is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.poetry.corpus import FORMS, PUNCTUATION, Form
from ai_roadmap.nlp.poetry.vocab import Vocab

FREE = -1  # a template slot the model fills


class Stepper(Protocol):
    """Next-token log-probabilities, one row per hypothesis."""

    def start(self, prefix: Tensor) -> tuple[Tensor, Any]:
        """Read prefix (B, P); return log p(x_{P+1} | prefix) as (B, V) and the state."""
        ...

    def step(self, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        """Append tokens (B,) and return the next (B, V) log-probabilities and the state."""
        ...

    def select(self, state: Any, rows: Tensor) -> Any:
        """The state of rows ``rows`` (B',) of the batch, in that order."""
        ...


class NeuralStepper:
    """A :class:`Stepper` for ``model(tokens, state) -> (logits, state)`` models."""

    def __init__(self, model: nn.Module, device: str | torch.device = "cpu") -> None:
        self.model = model.eval()
        self.device = torch.device(device)

    @torch.no_grad()
    def start(self, prefix: Tensor) -> tuple[Tensor, Any]:
        logits, state = self.model(prefix.to(self.device))  # (B, P, V)
        return F.log_softmax(logits[:, -1].float(), dim=-1).cpu(), state

    @torch.no_grad()
    def step(self, state: Any, tokens: Tensor) -> tuple[Tensor, Any]:
        logits, state = self.model(tokens.to(self.device)[:, None], state)  # (B, 1, V)
        return F.log_softmax(logits[:, -1].float(), dim=-1).cpu(), state

    def select(self, state: Any, rows: Tensor) -> Any:
        return self.model.select_state(state, rows.to(self.device))  # type: ignore[operator]


@dataclass(frozen=True)
class Sampling:
    """How to draw a token: temperature T, then top-k (0: off), then top-p (1: off)."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature <= 0 or self.top_k < 0 or not 0 < self.top_p <= 1:
            raise ValueError(f"bad sampling parameters: {self}")


# ── templates ────────────────────────────────────────────────────────────────


def form_by_name(name: str) -> Form:
    if name not in FORMS:
        known = ", ".join(f"{f.name} ({f.title})" for f in FORMS.values())
        raise UsageError(f"unknown form {name!r}; use one of {known}")
    return FORMS[name]


def template(vocab: Vocab, form: Form, first_line: str = "", heads: str = "") -> list[int]:
    """The slots of ``form``: fixed token ids, or :data:`FREE`; ends with ``<eos>``.

    Characters outside the vocabulary become ``<unk>`` (a held-out first line may have
    one); :func:`check_request` refuses them in a user's request instead.
    """
    slots = []
    for line in range(form.lines):
        for pos in range(form.chars):
            if line == 0 and first_line:
                slots.append(vocab.id(first_line[pos]))
            elif pos == 0 and heads:
                slots.append(vocab.id(heads[line]))
            else:
                slots.append(FREE)
        slots.append(vocab.id(form.punctuation(line)))
    return [*slots, vocab.eos]


def check_request(vocab: Vocab | None, form: Form, first_line: str = "", heads: str = "") -> None:
    """One-line :class:`UsageError` for a first line or heads the form (or model) cannot take.

    Without a vocabulary only the shape is checked.
    """
    if heads and len(heads) != form.lines:
        raise UsageError(
            f"--head needs {form.lines} characters for {form.name} ({form.title}), "
            f"one per line; got {len(heads)}"
        )
    if first_line and len(first_line) != form.chars:
        raise UsageError(
            f"--first-line needs {form.chars} characters for {form.name} ({form.title}), "
            f"without punctuation; got {len(first_line)}"
        )
    if first_line and heads and first_line[0] != heads[0]:
        raise UsageError("--first-line must start with the first --head character")
    if vocab is None:
        return
    allowed = set(vocab.hanzi_ids())
    for char in first_line + heads:
        if char in PUNCTUATION or vocab.id(char) not in allowed:
            raise UsageError(
                f"{char!r} is not a character this model knows "
                f"({len(allowed)} characters in its vocabulary)"
            )


def prefix_ids(vocab: Vocab, form: Form) -> list[int]:
    return [vocab.bos, vocab.form_id(form.name)]


def constrain(
    logprobs: Tensor, slots: Tensor, free: Tensor, banned: Tensor | None = None
) -> Tensor:
    """log p̃: fixed slots keep only their token, free slots only the ``free`` tokens.

    logprobs (B, V); slots (B,) token id or FREE; free (V,) bool; banned (B, V) bool, the
    tokens a row's free slot may not take now (see :func:`repeated_ngrams`; ignored for a
    row that would be left with nothing).
    """
    allowed = free.expand_as(logprobs).clone()  # (B, V)
    if banned is not None:
        fresh = allowed & ~banned
        exhausted = ~fresh.any(dim=-1)
        allowed = torch.where(exhausted[:, None], allowed, fresh)
    fixed = slots >= 0
    allowed[fixed] = False
    allowed[fixed, slots[fixed]] = True
    return logprobs.masked_fill(~allowed, float("-inf"))


def repeated_ngrams(history: Tensor, n: int, free: Tensor) -> Tensor | None:
    """(B, V) bool: tokens that would repeat an n-gram of characters already in ``history``.

    history (B, L) holds the tokens written so far. n = 1 bans every character used
    (重字); n ≥ 2 bans w when the last n − 1 tokens followed by w occurred before — n-grams
    across a mark do not count. ``None`` when nothing is banned (n = 0).
    """
    if n < 1:
        return None
    batch, length = history.shape
    counts = torch.zeros(batch, free.numel(), dtype=torch.long)
    if n == 1:  # every character written so far
        return counts.scatter_add_(1, history, free[history].long()) > 0
    if length < n:
        return counts > 0
    context = history[:, length - n + 1 :]  # (B, n−1), the last n − 1 tokens
    windows = history.unfold(1, n - 1, 1)[:, : length - n + 1]  # (B, L−n+1, n−1)
    nexts = history[:, n - 1 :]  # (B, L−n+1): the token after each window
    match = (windows == context[:, None, :]).all(-1) & free[context].all(-1, keepdim=True)
    # scatter_add, not scatter: one token may follow several windows, matched or not
    return counts.scatter_add_(1, nexts, (match & free[nexts]).long()) > 0


def free_mask(vocab: Vocab) -> Tensor:
    mask = torch.zeros(len(vocab), dtype=torch.bool)
    mask[vocab.hanzi_ids()] = True
    return mask


# ── decoders ─────────────────────────────────────────────────────────────────


def filter_logits(logits: Tensor, sampling: Sampling) -> Tensor:
    """Temperature, top-k and top-p applied to (B, V) logits (−∞ outside the kept set)."""
    logits = logits / sampling.temperature
    if sampling.top_k:
        kth = logits.topk(min(sampling.top_k, logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if sampling.top_p < 1:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        before = probs.cumsum(dim=-1) - probs  # mass strictly above each token
        drop_sorted = before >= sampling.top_p  # the first token is always kept
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_template(
    stepper: Stepper,
    prefix: Tensor,
    slots: Tensor,
    free: Tensor,
    sampling: Sampling,
    generator: torch.Generator | None = None,
    no_repeat: int = 0,
) -> Tensor:
    """Fill templates by sampling: prefix (B, P), slots (B, S) → tokens (B, S).

    ``no_repeat`` = n > 0 keeps free slots from repeating an n-gram (see above).
    """
    logprobs, state = stepper.start(prefix)
    out = torch.empty_like(slots)
    for s in range(slots.shape[1]):
        banned = repeated_ngrams(out[:, :s], no_repeat, free)
        logits = filter_logits(constrain(logprobs, slots[:, s], free, banned), sampling)
        out[:, s] = torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]
        if s + 1 < slots.shape[1]:
            logprobs, state = stepper.step(state, out[:, s])
    return out


def beam_template(
    stepper: Stepper,
    prefix: Tensor,
    slots: Tensor,
    free: Tensor,
    width: int,
    no_repeat: int = 0,
) -> Tensor:
    """Fill templates with beam search of ``width`` hypotheses per row → tokens (B, S)."""
    batch, length = slots.shape
    logprobs, state = stepper.start(prefix)  # (B, V)
    rows = torch.arange(batch).repeat_interleave(width)  # (B·K,)
    logprobs, state = logprobs[rows], stepper.select(state, rows)
    scores = torch.full((batch, width), float("-inf"))
    scores[:, 0] = 0.0  # one live hypothesis to start; the others fill at the first choice
    tokens = torch.empty(batch, width, 0, dtype=torch.long)
    vocab = logprobs.shape[-1]
    for s in range(length):
        banned = repeated_ngrams(tokens.view(batch * width, s), no_repeat, free)
        step_lp = constrain(logprobs, slots[rows, s], free, banned).view(batch, width, vocab)
        total = (scores[..., None] + step_lp).view(batch, width * vocab)
        scores, index = total.topk(width, dim=-1)  # (B, K), best first
        parent, token = index // vocab, index % vocab
        tokens = torch.cat(
            [tokens.gather(1, parent[..., None].expand_as(tokens)), token[..., None]], 2
        )
        if s + 1 < length:
            flat_parent = (torch.arange(batch)[:, None] * width + parent).view(-1)  # (B·K,)
            logprobs, state = stepper.step(stepper.select(state, flat_parent), token.view(-1))
    return tokens[:, 0]


def sample_free(
    stepper: Stepper,
    prefix: Tensor,
    max_len: int,
    eos: int,
    sampling: Sampling,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Unconstrained sampling until ``<eos>`` or ``max_len`` tokens (the model's own form)."""
    logprobs, state = stepper.start(prefix)
    out: list[list[int]] = [[] for _ in range(prefix.shape[0])]
    done = torch.zeros(prefix.shape[0], dtype=torch.bool)
    for _ in range(max_len):
        token = torch.multinomial(
            filter_logits(logprobs, sampling).softmax(-1), 1, generator=generator
        )[:, 0]
        for row in torch.nonzero(~done)[:, 0].tolist():
            out[row].append(int(token[row]))
        done |= token == eos
        if bool(done.all()):
            break
        logprobs, state = stepper.step(state, token)
    return out


# ── one poem, as the CLI asks for it ─────────────────────────────────────────


def split_lines(text: str) -> list[str]:
    """'春眠不觉晓，处处闻啼鸟。' → ['春眠不觉晓，', '处处闻啼鸟。']."""
    lines, current = [], ""
    for char in text:
        current += char
        if char in PUNCTUATION:
            lines.append(current)
            current = ""
    return [*lines, current] if current else lines


def write_poem(
    stepper: Stepper,
    vocab: Vocab,
    form: Form,
    heads: str = "",
    first_line: str = "",
    sampling: Sampling | None = None,
    beam: int = 0,
    seed: int | None = None,
    no_repeat: int = 1,
) -> list[str]:
    """One poem of ``form`` as lines with their marks (beam search when ``beam`` > 0)."""
    check_request(vocab, form, first_line, heads)
    slots = torch.tensor([template(vocab, form, first_line, heads)])
    prefix = torch.tensor([prefix_ids(vocab, form)])
    free = free_mask(vocab)
    if beam > 0:
        tokens = beam_template(stepper, prefix, slots, free, beam, no_repeat)
    else:
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        sampling = sampling or Sampling()
        tokens = sample_template(stepper, prefix, slots, free, sampling, generator, no_repeat)
    return split_lines(vocab.decode(tokens[0].tolist()))
