"""Seq2seq with attention: a bidirectional-GRU encoder and a GRU decoder that attends.

The task: read a date written in one of many human formats ("3 March 2021",
"Wed, 3 Mar 21", "03/03/2021", "2021年3月3日", …) and write it as an ISO date
("2021-03-03"), one character at a time (the pairs come from
:mod:`ai_roadmap.datasets.dates`). The recurrent layers are ours
(:mod:`ai_roadmap.deep.rnn`).

Encoder. Embeddings x_1…x_T go through a bidirectional GRU; the annotation of position
j is h_j = [→h_j ; ←h_j] ∈ R^K (K = 2·H_enc), and the decoder starts from
s_0 = tanh(W_b ←h_1), the reverse direction's final state (Bahdanau et al. 2015). The
encoder is given each sequence's length, so the reverse direction starts at the last
real character (as with a packed sequence) and no output depends on the padding a batch
happens to add.

Why attention. Without it the decoder sees the source only through s_0, a fixed-size
bottleneck, and the gradient from output y_t reaches x_j only through O(T) recurrent
Jacobians (see the gradient-flow note in :mod:`~ai_roadmap.deep.rnn`). Attention gives
every step a direct, differentiable read of all annotations.

Attention, derived. At decoder step t, with a query q (a decoder state), score each
position, normalise and average:

    e_tj = score(q, h_j),   α_tj = exp(e_tj) / Σ_k exp(e_tk),   c_t = Σ_j α_tj h_j.

α_t· is a distribution over source positions (α ≥ 0, Σ_j α_tj = 1; padded positions get
e = −∞, hence α = 0), and c_t is the expected annotation under it — a soft, differentiable
alignment learned with the rest of the model. Its gradient follows from the softmax
Jacobian ∂α_k/∂e_j = α_k (δ_kj − α_j):

    ∂c_t/∂e_tj = Σ_k h_k α_k (δ_kj − α_j) = α_j (h_j − c_t),

so raising a score pulls the context towards that position's annotation, in proportion
to the weight it already has.

* Additive (Bahdanau et al. 2015): the query is the previous state s_{t−1}, and
  e_tj = vᵀ tanh(W_q s_{t−1} + W_k h_j) — a one-hidden-layer network scoring the match
  (attention size A). W_k h_j does not depend on t, so it is computed once per sequence;
  a step then costs O(T·A). The context joins the next input: s_t = GRU([E y_{t−1} ; c_t],
  s_{t−1}).
* Dot (Luong et al. 2015): the query is the new state s_t = GRU([E y_{t−1} ; h̃_{t−1}],
  s_{t−1}) (h̃_{t−1} fed back: "input feeding"), and e_tj = s_tᵀ h_j — the bilinear
  "general" score s_tᵀ W_a h_j with W_a = I, so it needs H_dec = K and has no
  parameters. For entries of unit variance, Var(sᵀh) grows like K, which is why the
  Transformer divides by √K; at the sizes used here the learned scale of s copes.

Both read out through h̃_t = tanh(W_c [s_t ; c_t]) and p(y_t | y_<t, x) = softmax(W_o h̃_t)
(Luong's attentional state; Bahdanau used a maxout layer there). Training uses teacher
forcing (the gold y_{t−1} is fed) and cross-entropy; decoding is greedy (argmax fed back).

A trained model is kept as a model folder (:func:`save_seq2seq`): the weights and
architecture of :mod:`ai_roadmap.artifacts.torch` plus ``vocab.json``, the source and
target characters by id, all hashed in the card. :func:`load_seq2seq` reads such a
folder and also the single ``.pt`` file earlier runs wrote.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.artifacts.torch import load_torch_model, save_torch_model
from ai_roadmap.deep.rnn import GRU, GRUCell
from ai_roadmap.errors import RoadmapError

PAD, SOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<sos>", "<eos>", "<unk>")
ATTENTIONS = ("additive", "dot")


# ---------------------------------------------------------------- vocabulary


class Vocab:
    """Characters ↔ ids; ids 0–3 are <pad>, <sos>, <eos>, <unk>."""

    def __init__(self, chars: str) -> None:
        self.itos: tuple[str, ...] = (*SPECIALS, *sorted(set(chars)))
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_itos(cls, itos: Sequence[str]) -> Vocab:
        """The vocabulary whose id → character table is ``itos`` (as a saved model keeps it)."""
        if tuple(itos[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}, not {tuple(itos[:4])}")
        vocab = cls("")
        vocab.itos = tuple(itos)
        vocab.stoi = {c: i for i, c in enumerate(vocab.itos)}
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, texts: list[str], eos: bool = False) -> Tensor:
        """(N, T_max) ids, right-padded with <pad>; <eos> appended when asked."""
        rows = [[self.stoi.get(c, UNK) for c in t] + ([EOS] if eos else []) for t in texts]
        out = torch.full((len(rows), max(map(len, rows))), PAD, dtype=torch.long)
        for i, row in enumerate(rows):
            out[i, : len(row)] = torch.tensor(row)
        return out

    def decode(self, ids: Tensor) -> str:
        """The characters up to the first <eos> (specials dropped)."""
        chars = []
        for i in ids.tolist():
            if i == EOS:
                break
            if i >= len(SPECIALS):
                chars.append(self.itos[i])
        return "".join(chars)


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of the encoder–decoder; ``attention`` is ``"additive"`` or ``"dot"``."""

    src_vocab: int
    tgt_vocab: int
    embed: int = 32  # character embedding size E (source and target)
    enc_hidden: int = 64  # H_enc per direction; annotations have K = 2·H_enc
    dec_hidden: int = 128  # H_dec; dot attention needs H_dec = K
    attn_size: int = 64  # A, the hidden size of the additive score
    attention: str = "additive"

    def __post_init__(self) -> None:
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}, not {self.attention!r}")
        if self.attention == "dot" and self.dec_hidden != 2 * self.enc_hidden:
            raise ValueError("dot attention needs dec_hidden == 2 * enc_hidden")
        if min(self.src_vocab, self.tgt_vocab, self.embed, self.enc_hidden, self.attn_size) < 1:
            raise ValueError("sizes must be positive")


class Memory(NamedTuple):
    """What the decoder attends over: annotations, their precomputed keys and the mask."""

    values: Tensor  # (B, T, K) annotations h_j
    keys: Tensor  # (B, T, A) W_k h_j (additive) or h_j itself (dot)
    mask: Tensor  # (B, T) True at real (non-pad) positions


def attend(scores: Tensor, values: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """α = softmax(e) over unmasked positions and c = Σ_j α_j h_j: (B, K) and (B, T)."""
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    context = (weights.unsqueeze(1) @ values).squeeze(1)  # (B, 1, T) @ (B, T, K) -> (B, K)
    return context, weights


class AdditiveAttention(nn.Module):
    """e_j = vᵀ tanh(W_q q + W_k h_j) (Bahdanau)."""

    def __init__(self, query_size: int, key_size: int, attn_size: int) -> None:
        super().__init__()
        self.w_query = nn.Linear(query_size, attn_size, bias=False)
        self.w_key = nn.Linear(key_size, attn_size)
        self.v = nn.Linear(attn_size, 1, bias=False)

    def prepare(self, values: Tensor) -> Tensor:
        return self.w_key(values)  # (B, T, K) -> (B, T, A), once per sequence

    def forward(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        hidden = torch.tanh(memory.keys + self.w_query(query).unsqueeze(1))  # (B, T, A)
        return attend(self.v(hidden).squeeze(-1), memory.values, memory.mask)


class DotAttention(nn.Module):
    """e_j = qᵀ h_j (Luong's "dot")."""

    def prepare(self, values: Tensor) -> Tensor:
        return values

    def forward(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        scores = (memory.keys @ query.unsqueeze(-1)).squeeze(-1)  # (B,T,K) @ (B,K,1) -> (B,T)
        return attend(scores, memory.values, memory.mask)


class Decoder(nn.Module):
    """One GRU step with attention; Bahdanau's order for additive, Luong's for dot."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        key = 2 * cfg.enc_hidden
        self.luong = cfg.attention == "dot"
        self.embed = nn.Embedding(cfg.tgt_vocab, cfg.embed)
        self.cell = GRUCell(cfg.embed + (cfg.dec_hidden if self.luong else key), cfg.dec_hidden)
        self.attention: nn.Module = (
            DotAttention() if self.luong else AdditiveAttention(cfg.dec_hidden, key, cfg.attn_size)
        )
        self.combine = nn.Linear(cfg.dec_hidden + key, cfg.dec_hidden)  # h̃ = tanh(W_c [s ; c])
        self.readout = nn.Linear(cfg.dec_hidden, cfg.tgt_vocab)

    def step(
        self, y_prev: Tensor, s: Tensor, feed: Tensor, memory: Memory
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(logits (B, V), s_t, h̃_t, α_t (B, T)) from y_{t−1} (B,), s_{t−1} and h̃_{t−1}."""
        e = self.embed(y_prev)
        if self.luong:  # update the state first, then query with s_t
            s = self.cell(torch.cat([e, feed], dim=-1), s)
            context, weights = self.attention(s, memory)
        else:  # query with s_{t−1}, then feed the context into the update
            context, weights = self.attention(s, memory)
            s = self.cell(torch.cat([e, context], dim=-1), s)
        attentional = torch.tanh(self.combine(torch.cat([s, context], dim=-1)))
        return self.readout(attentional), s, attentional, weights


class Seq2Seq(nn.Module):
    """Bi-GRU encoder + attentive GRU decoder; ``forward`` is the teacher-forced pass."""

    def __init__(self, cfg: Seq2SeqConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.src_embed = nn.Embedding(cfg.src_vocab, cfg.embed)
        self.encoder = GRU(cfg.embed, cfg.enc_hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(cfg.enc_hidden, cfg.dec_hidden)  # s_0 = tanh(W_b ←h_1)
        self.decoder = Decoder(cfg)

    def encode(self, src: Tensor) -> tuple[Memory, Tensor]:
        """Memory over src (B, T) and the decoder's initial state s_0 (B, H_dec)."""
        mask = src != PAD
        # with the lengths, padding changes nothing: the reverse direction starts at each
        # sequence's last character, as with a packed sequence
        # values (B, T, K), h_n (2, B, H_enc)
        values, h_n = self.encoder(self.src_embed(src), lengths=mask.sum(dim=1))
        memory = Memory(values, self.decoder.attention.prepare(values), mask)
        return memory, torch.tanh(self.bridge(h_n[1]))

    def forward(self, src: Tensor, tgt_in: Tensor) -> Tensor:
        """Logits (B, T_out, V) with the gold previous token fed at every step."""
        memory, s = self.encode(src)
        feed = s.new_zeros(s.shape[0], self.cfg.dec_hidden)
        logits = []
        for y_prev in tgt_in.unbind(1):  # (B, T_out) -> T_out × (B,)
            out, s, feed, _ = self.decoder.step(y_prev, s, feed, memory)
            logits.append(out)
        return torch.stack(logits, dim=1)  # T_out × (B, V) -> (B, T_out, V)

    @torch.no_grad()
    def greedy(self, src: Tensor, max_len: int) -> tuple[Tensor, Tensor]:
        """Greedy decoding: ids (B, max_len) and attention weights (B, max_len, T)."""
        memory, s = self.encode(src)
        feed = s.new_zeros(s.shape[0], self.cfg.dec_hidden)
        y = torch.full((src.shape[0],), SOS, dtype=torch.long)
        ids, weights = [], []
        for _ in range(max_len):
            out, s, feed, alpha = self.decoder.step(y, s, feed, memory)
            y = out.argmax(dim=-1)
            ids.append(y)
            weights.append(alpha)
        return torch.stack(ids, dim=1), torch.stack(weights, dim=1)


# ---------------------------------------------------------------- training and evaluation


@dataclass(frozen=True)
class Encoded:
    """A split as tensors: source ids (N, T), decoder input <sos> y (N, U), target y <eos>."""

    src: Tensor
    tgt_in: Tensor
    tgt_out: Tensor

    def batch(self, idx: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        src = self.src[idx]
        width = int((src != PAD).sum(dim=1).max())  # drop the all-pad columns
        return src[:, :width], self.tgt_in[idx], self.tgt_out[idx]


def encode_pairs(sources: list[str], targets: list[str], src: Vocab, tgt: Vocab) -> Encoded:
    out = tgt.encode(targets, eos=True)
    tgt_in = torch.cat([torch.full((len(targets), 1), SOS), out[:, :-1]], dim=1)
    return Encoded(src.encode(sources), tgt_in.masked_fill(tgt_in == EOS, PAD), out)


def train(
    model: Seq2Seq,
    data: Encoded,
    steps: int,
    batch_size: int,
    lr: float,
    clip: float,
    generator: torch.Generator,
) -> list[float]:
    """Adam with a one-cycle learning rate (peak ``lr``), gradient norm clipped to ``clip``.

    Returns the training loss (mean cross-entropy per target character) at every step.
    """
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
    model.train()
    losses = []
    for _ in range(steps):
        idx = torch.randint(len(data.src), (batch_size,), generator=generator)
        src, tgt_in, tgt_out = data.batch(idx)
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def predict(model: Seq2Seq, data: Encoded, vocab: Vocab, batch_size: int = 512) -> list[str]:
    """Greedy outputs as strings, decoding as many steps as the longest target."""
    model.eval()
    max_len = data.tgt_out.shape[1]
    out: list[str] = []
    for start in range(0, len(data.src), batch_size):
        src, _, _ = data.batch(torch.arange(start, min(start + batch_size, len(data.src))))
        ids, _ = model.greedy(src, max_len)
        out.extend(vocab.decode(row) for row in ids)
    return out


def exact_match(predictions: list[str], targets: list[str]) -> float:
    """Share of outputs equal to the target string, character for character."""
    if len(predictions) != len(targets) or not targets:
        raise ValueError("need as many predictions as targets, and at least one")
    return sum(p == t for p, t in zip(predictions, targets, strict=True)) / len(targets)


# ---------------------------------------------------------------- a model on disk

VOCAB_FILE = "vocab.json"


def save_seq2seq(
    model: Seq2Seq,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    folder: Path,
    card: ModelCard | None = None,
) -> Path:
    """A model folder: weights, architecture, ``vocab.json`` and the card; returns ``folder``."""
    card = card or ModelCard(
        name="seq2seq", task="translation", target="", input_schema={"text": {"type": "string"}}
    )
    vocab = {"source": list(src_vocab.itos), "target": list(tgt_vocab.itos)}
    extras = {VOCAB_FILE: json.dumps(vocab, ensure_ascii=False, indent=1)}
    return save_torch_model(model, folder, card, extras)


def load_seq2seq(path: Path) -> tuple[Seq2Seq, Vocab, Vocab]:
    """(model in eval mode, source vocabulary, target vocabulary) from a folder or a ``.pt``.

    A folder is checked against its card (every file's sha256). A single ``.pt`` file
    holds ``{"config", "state_dict", "src_vocab", "tgt_vocab"}`` and is read with
    ``weights_only=True``, so it can carry tensors and plain values, never code.
    """
    path = Path(path)
    if path.is_dir():
        model, _ = load_torch_model(path)
        if not isinstance(model, Seq2Seq):
            raise RoadmapError(f"{path} holds a {type(model).__name__}, not a Seq2Seq")
        vocab = json.loads((path / VOCAB_FILE).read_text(encoding="utf-8"))
        return model, Vocab.from_itos(vocab["source"]), Vocab.from_itos(vocab["target"])
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = Seq2Seq(Seq2SeqConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval(), Vocab.from_itos(saved["src_vocab"]), Vocab.from_itos(saved["tgt_vocab"])
