"""DPO with TRL's ``DPOTrainer`` on the same preference pairs, from the same SFT model.

Direct preference optimisation (Rafailov et al. 2023) skips the reward model and PPO: the
KL-regularised optimum π* ∝ π_ref exp(r/β) (checked for PPO on the bandit) means a reward
is a log-ratio, r = β log π/π_ref + const, and the Bradley–Terry likelihood of the pairs
becomes a loss on the policy directly:

    L_DPO(θ) = − E log σ(β [log π_θ(y_w|x)/π_ref(y_w|x) − log π_θ(y_l|x)/π_ref(y_l|x)])

TRL's trainer is the ecosystem's implementation (loss ``sigmoid``); the reference is a
frozen copy of the SFT model. The trainer writes under ``out`` (no hub, no reporting,
no checkpoints), and the folder is removed afterwards.
"""

from __future__ import annotations

import copy
import shutil
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.multimodal.rlhf.lm import offline
from ai_roadmap.multimodal.rlhf.pairs import Pair


@dataclass(frozen=True)
class DPOSection:
    steps: int = 200
    batch_size: int = 16  # pairs per step
    lr: float = 1e-4
    beta: float = 0.1


@dataclass
class DPOReport:
    steps: int
    seconds: float
    history: list[dict[str, float]]  # TRL's logged rows (loss, rewards/accuracies, …)


def train_dpo(
    sft: Any,
    tokenizer: Any,
    pairs: Sequence[Pair],
    c: DPOSection,
    out: Path,
    seed: int,
    device: str,
) -> tuple[Any, DPOReport]:
    """A DPO-tuned copy of ``sft``; ``out`` is the trainer's scratch folder (removed after)."""
    offline()
    import datasets
    import transformers
    from transformers.trainer_callback import PrinterCallback
    from trl import DPOTrainer

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()

    data = datasets.Dataset.from_list(
        [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in pairs]
    )
    model = copy.deepcopy(sft).train()
    ref = copy.deepcopy(sft).eval()
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():  # transformers' renamings inside TRL, not ours to fix
            warnings.simplefilter("ignore", FutureWarning)
            trainer = DPOTrainer(
                model=model,
                ref_model=ref,
                args=_arguments(c, out, seed, device),
                train_dataset=data,
                processing_class=tokenizer,
            )
            trainer.remove_callback(PrinterCallback)  # the history is kept, not printed
            trainer.train()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    history = [
        {k: float(v) for k, v in row.items() if isinstance(v, int | float)}
        for row in trainer.state.log_history
        if "loss" in row
    ]
    return model.to(device).eval(), DPOReport(
        trainer.state.global_step, time.perf_counter() - started, history
    )


def _arguments(c: DPOSection, out: Path, seed: int, device: str) -> Any:
    """TRL's config: no hub, no reporting, no checkpoints, no progress bars."""
    from trl import DPOConfig

    return DPOConfig(
        output_dir=str(out),
        max_steps=c.steps,
        per_device_train_batch_size=c.batch_size,
        learning_rate=c.lr,
        beta=c.beta,
        lr_scheduler_type="linear",
        logging_steps=max(1, c.steps // 20),
        save_strategy="no",
        report_to="none",
        seed=seed,
        use_cpu=device == "cpu",
        disable_tqdm=True,
        dataloader_num_workers=0,
        max_length=None,
    )
