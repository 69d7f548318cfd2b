"""One MLM phase with the Hugging Face ``Trainer``, and the held-out loss on fixed masks.

The loss is the cross-entropy of the true character at the selected positions only,
in nats per masked token: L = −(1/|M|) Σ_{i∈M} log p(x_i | x_{∖M}); perplexity = e^L.
Training draws fresh masks every batch (dynamic masking, as RoBERTa does). The held-out
loss is measured on masks drawn **once** with a fixed seed, so the figures before and
after a phase compare the same positions, and it is summed over tokens (not averaged
per batch) so a short last batch weighs what it holds.

The ``Trainer`` runs with ``report_to=[]`` (no external loggers), no checkpoints
(``save_strategy="no"``), and its output folder inside the run's folder; a callback
records the training loss every ``log_every`` steps, the held-out losses every
``eval_every`` steps, and stops the phase at ``max_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

import ai_roadmap.nlp.mlm  # noqa: F401  (offline settings before transformers loads)

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

Batch = dict[str, torch.Tensor]


@dataclass(frozen=True)
class PhaseOptions:
    """Hyperparameters of one phase."""

    max_steps: int = 1000  # optimiser steps (the phase's budget in data)
    max_seconds: float = 0  # wall-clock budget (0: none); the phase stops at the next step
    batch_size: int = 32  # blocks per step
    lr: float = 5e-4  # AdamW peak η, linear warm-up then linear decay to 0
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    log_every: int = 20  # steps between training-loss records
    eval_every: int = 0  # steps between held-out measurements (0: phase end only)
    bf16: bool = False  # bfloat16 autocast (CPU with AVX-512 BF16, or CUDA)

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.batch_size < 1 or self.log_every < 1:
            raise ValueError("max_steps, batch_size and log_every must be at least 1")
        if not 0 < self.lr < 1:
            raise ValueError(f"lr must lie in (0, 1), got {self.lr}")


@dataclass
class PhaseReport:
    steps: int
    tokens_seen: int  # positions read in training batches, padding excluded
    seconds: float
    stopped: str
    history: list[dict[str, float]] = field(default_factory=list)


def mlm_collator(tokenizer: PreTrainedTokenizerFast, probability: float, seed: int | None) -> Any:
    """HF's collator: pads, selects p of the non-special tokens, replaces 80/10/10."""
    from transformers import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(
        tokenizer=tokenizer, mlm=True, mlm_probability=probability, seed=seed
    )


def fixed_batches(
    tokenizer: PreTrainedTokenizerFast,
    blocks: Sequence[Sequence[int]],
    probability: float,
    batch_size: int,
    seed: int,
) -> list[Batch]:
    """Held-out blocks masked once, with a fixed seed, for every later measurement."""
    collate = mlm_collator(tokenizer, probability, seed)
    return [
        collate([{"input_ids": list(b)} for b in blocks[i : i + batch_size]])
        for i in range(0, len(blocks), batch_size)
    ]


@torch.no_grad()
def heldout_loss(model: PreTrainedModel, batches: Sequence[Batch]) -> float:
    """Mean cross-entropy (nats) over every masked position of ``batches``."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for batch in batches:
        ids = batch["input_ids"].to(device)
        labels = batch["labels"].to(device)
        mask = batch.get("attention_mask")
        mask = mask.to(device) if mask is not None else (ids != model.config.pad_token_id)
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
        loss = torch.nn.functional.cross_entropy(
            logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100, reduction="sum"
        )
        total += float(loss)
        count += int((labels != -100).sum())
    model.train(was_training)
    return total / max(count, 1)


def _callback(
    options: PhaseOptions, probes: dict[str, list[Batch]], report: PhaseReport, offset: int
) -> Any:
    from transformers import TrainerCallback

    started = time.perf_counter()

    class Recorder(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                report.history.append({"step": offset + state.global_step, "train": logs["loss"]})

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if options.eval_every and state.global_step % options.eval_every == 0:
                row = {"step": float(offset + state.global_step)}
                row.update({k: heldout_loss(kw["model"], b) for k, b in probes.items()})
                report.history.append(row)
            if options.max_seconds and time.perf_counter() - started > options.max_seconds:
                report.stopped = "time budget"
                control.should_training_stop = True

    return Recorder()


def train_phase(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    blocks: Sequence[Sequence[int]],
    options: PhaseOptions,
    out: Path,
    probes: dict[str, list[Batch]] | None = None,
    seed: int = 0,
    probability: float = 0.15,
    step_offset: int = 0,
) -> PhaseReport:
    """Train ``model`` in place on ``blocks`` for one phase (on the model's device)."""
    from transformers import PrinterCallback, Trainer, TrainingArguments

    report = PhaseReport(steps=0, tokens_seen=0, seconds=0.0, stopped="max_steps")
    collate = mlm_collator(tokenizer, probability, None)
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=options.max_steps,
        per_device_train_batch_size=options.batch_size,
        learning_rate=options.lr,
        lr_scheduler_type="linear",
        warmup_steps=int(options.warmup_fraction * options.max_steps),
        weight_decay=options.weight_decay,
        logging_steps=options.log_every,
        save_strategy="no",
        report_to=[],
        seed=seed,
        bf16=options.bf16,
        use_cpu=next(model.parameters()).device.type == "cpu",
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",  # the attention mask's ones
    )
    dataset = [{"input_ids": list(b)} for b in blocks]
    callback = _callback(options, probes or {}, report, step_offset)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collate,
        processing_class=tokenizer,
        callbacks=[callback],
    )
    trainer.remove_callback(PrinterCallback)  # the figures go to the report, not stdout
    started = time.perf_counter()
    output = trainer.train()
    report.seconds = time.perf_counter() - started
    report.steps = int(output.global_step)
    report.tokens_seen = int(trainer.state.num_input_tokens_seen)
    return report
