"""The language-model training loop, shared by every model of this package.

**Batches.** One poem is one sequence (``<bos> <form> … <eos>``, see
:mod:`~ai_roadmap.nlp.poetry.vocab`). Sequences are sorted by length and cut into
batches of similar lengths, each padded to its longest sequence, so little compute goes
to padding; the order of the batches is shuffled every epoch. Inputs are x = s[:−1],
targets y = s[1:], and the mask m_t = [y_t ≠ <pad>] removes padding from the loss::

    ℓ = Σ_t m_t · (−log p(y_t | x_≤t)) / Σ_t m_t

**Updates.** AdamW (Loshchilov & Hutter 2019): Adam's step plus a decoupled weight decay
θ ← θ − η λ θ that is not rescaled by the adaptive denominator. Before each step the
gradient is clipped to norm τ, g ← g · min(1, τ / ‖g‖₂) (Pascanu et al. 2013): an LSTM's
gradient is usually tame but an occasional spike would otherwise throw the weights far.

**Early stopping.** Every ``eval_every`` steps the mean validation loss is measured; the
best weights so far are kept. An evaluation that does not improve on the best halves the
learning rate (× ``lr_decay``); ``patience`` such evaluations in a row stop training, as
do ``max_epochs`` and the wall-clock budget ``max_seconds``. The best weights are restored
at the end, and validation perplexity exp(ℓ_val) is reported for them.

The model contract is small: ``model(tokens)`` with tokens (B, T) returns logits
(B, T, V), or a tuple whose first element is that — the LSTM here, a Transformer
decoder later.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

PAD_ID = 0


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of :func:`train_language_model`."""

    batch_size: int = 64  # poems per step
    lr: float = 2e-3  # AdamW η
    weight_decay: float = 0.01  # AdamW λ (decoupled)
    clip_norm: float = 1.0  # τ of the gradient-norm clip
    max_epochs: int = 10
    max_seconds: float = 0.0  # wall-clock budget for training (0: none)
    eval_every: int = 500  # steps between validation measurements
    patience: int = 3  # evaluations without improvement before stopping
    lr_decay: float = 0.5  # η ← η · lr_decay after an evaluation without improvement

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.lr <= 0 or self.eval_every < 1 or self.patience < 1:
            raise ValueError(f"bad training configuration: {self}")


@dataclass
class TrainReport:
    """What training did; ``history`` holds one row per validation measurement."""

    steps: int = 0
    epochs: float = 0.0
    seconds: float = 0.0
    best_val_loss: float = math.inf
    stopped: str = ""
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def val_perplexity(self) -> float:
        return math.exp(min(self.best_val_loss, 50.0))


def pad_batch(sequences: Sequence[Sequence[int]]) -> Tensor:
    """(B, T_max) tensor of the sequences, right-padded with ``<pad>``."""
    longest = max(len(s) for s in sequences)
    out = torch.full((len(sequences), longest), PAD_ID, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return out


def make_batches(
    sequences: Sequence[Sequence[int]], batch_size: int, rng: np.random.Generator | None = None
) -> list[Tensor]:
    """Length-bucketed padded batches; shuffled (within equal lengths too) when ``rng`` is given."""
    lengths = np.array([len(s) for s in sequences])
    tie_break = rng.random(len(sequences)) if rng is not None else np.arange(len(sequences))
    order = np.lexsort((tie_break, lengths))
    batches = [
        pad_batch([sequences[i] for i in order[start : start + batch_size]])
        for start in range(0, len(order), batch_size)
    ]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def logits_of(model: nn.Module, tokens: Tensor) -> Tensor:
    out = model(tokens)
    return out[0] if isinstance(out, tuple) else out


def batch_nll(model: nn.Module, batch: Tensor) -> tuple[Tensor, int]:
    """Summed −log p over the non-pad targets of one batch, and their number."""
    inputs, targets = batch[:, :-1], batch[:, 1:]  # (B, T−1) each
    logits = logits_of(model, inputs)  # (B, T−1, V)
    nll = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),  # (B·(T−1), V)
        targets.reshape(-1),
        ignore_index=PAD_ID,
        reduction="sum",
    )
    return nll, int((targets != PAD_ID).sum())


@torch.no_grad()
def mean_nll(model: nn.Module, batches: Sequence[Tensor], device: torch.device) -> float:
    """ℓ over all non-pad targets of ``batches`` (nats per token), in eval mode."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        nll, n = batch_nll(model, batch.to(device))
        total, count = total + float(nll), count + n
    model.train(was_training)
    return total / max(count, 1)


def train_language_model(
    model: nn.Module,
    train: Sequence[Sequence[int]],
    val: Sequence[Sequence[int]],
    config: TrainConfig,
    seed: int = 0,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> TrainReport:
    """Train in place with early stopping on validation loss; restores the best weights."""
    dev = torch.device(device)
    model.to(dev).train()
    rng = np.random.default_rng(seed)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    val_batches = make_batches(val, config.batch_size)
    report, best_state, waited = TrainReport(), copy.deepcopy(model.state_dict()), 0
    started = time.perf_counter()
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    for _epoch in range(config.max_epochs):
        for batch in make_batches(train, config.batch_size, rng):
            loss = _step(model, optimiser, batch.to(dev), config.clip_norm)
            report.steps += 1
            report.seconds = time.perf_counter() - started
            out_of_time = config.max_seconds and report.seconds >= config.max_seconds
            if report.steps % config.eval_every and not out_of_time:
                continue
            val_loss = mean_nll(model, val_batches, dev)
            lr = optimiser.param_groups[0]["lr"]
            report.history.append(
                {"step": report.steps, "train_loss": loss, "val_loss": val_loss, "lr": lr}
            )
            if log is not None:
                log(f"step {report.steps}: train {loss:.3f}, val {val_loss:.3f} nats/token")
            if val_loss < report.best_val_loss:
                report.best_val_loss, best_state, waited = val_loss, _copy(model), 0
            else:
                waited += 1
                for group in optimiser.param_groups:
                    group["lr"] *= config.lr_decay
            if waited >= config.patience or out_of_time:
                report.stopped = "early stop" if waited >= config.patience else "time budget"
                return _finish(model, best_state, report, steps_per_epoch)
    report.stopped = "max epochs"
    val_loss = mean_nll(model, val_batches, dev)
    if val_loss < report.best_val_loss:
        report.best_val_loss, best_state = val_loss, _copy(model)
    return _finish(model, best_state, report, steps_per_epoch)


def _step(model: nn.Module, optimiser: torch.optim.Optimizer, batch: Tensor, clip: float) -> float:
    nll, count = batch_nll(model, batch)
    loss = nll / max(count, 1)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimiser.step()
    return loss.item()


def _copy(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _finish(
    model: nn.Module, best: dict[str, Tensor], report: TrainReport, steps_per_epoch: int
) -> TrainReport:
    model.load_state_dict(best)
    model.eval()
    report.epochs = report.steps / max(steps_per_epoch, 1)
    return report
