"""Peak training memory of full fine-tuning and of LoRA, measured the same way for both.

What the figure is. Each configuration runs in a fresh Python process (``python -m
ai_roadmap.nlp.memory JOB``) so nothing one run allocated is still resident in the next.
The child loads the encoder with a token-classification head, builds its batch and optimizer,
runs one warm-up pass that creates no parameter gradient (``_warm_up``), then resets the
kernel's resident-set high-water mark (``echo 5 > /proc/self/clear_refs``
sets ``VmHWM`` back to the current ``VmRSS``) and runs N training steps (forward, backward,
AdamW step). The figure is

    peak training delta = VmHWM after the steps − VmRSS after loading      (MB = 2^20 bytes)

i.e. the resident memory training needed on top of the loaded model: gradients, the
optimizer's moments, activations kept for backward, and the allocator's slack. Where
``clear_refs`` cannot be written (not Linux), ``ru_maxrss`` of the child is used instead; it
also counts the loading peak, so ``method`` says which was taken. With ``device="cuda"``
the child also reports ``torch.cuda.max_memory_allocated`` minus the allocation after
loading: the GPU figure ("显存") measured the same way.

Why LoRA saves what it saves. Full fine-tuning with AdamW keeps, per trainable element, a
gradient and two moments: 3 × 4 bytes beyond the weight. LoRA makes the base weights frozen,
so their gradients and moments disappear; only ``r (in + out)`` elements per adapted layer
(and the head) keep them. The activations do not shrink: backward still has to pass through
every frozen layer to reach the adapters, so it keeps the same attention scores, FFN
intermediates and dropout masks. Activations grow with batch × sequence length (attention
scores with batch × length²), the optimizer state does not, so the saving is large at small
batch × length and falls toward zero as the batch or the sequence grows. ``memory_sweep``
measures several (batch, length) rows to show where a saving such as −40 % holds and where
it stops holding.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.nlp.lora import LoRASettings
from ai_roadmap.nlp.tagging import check_max_len

MB = 2**20
OFFLINE = dict.fromkeys(
    ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK", "NO_ALBUMENTATIONS_UPDATE"), "1"
)


@dataclass(frozen=True)
class MemoryReading:
    """One child's measurement (sizes in MB = 2^20 bytes, elements as counts)."""

    mode: str  # "full", "lora" or "calibration"
    batch: int
    seq_len: int
    steps: int
    rss_after_load_mb: float
    peak_delta_mb: float  # peak resident memory during the steps − resident after loading
    method: str  # how the peak was read (see the module docstring)
    trainable_params: int = 0
    total_params: int = 0
    grad_elements: int = 0  # elements that held a gradient at the last step
    optimizer_state_elements: int = 0  # AdamW's exp_avg + exp_avg_sq elements
    cuda_peak_delta_mb: float | None = None
    seconds: float = 0.0

    @property
    def state_mb(self) -> float:
        """Gradients + optimizer moments in MB at 4 bytes each: the part LoRA removes."""
        return 4 * (self.grad_elements + self.optimizer_state_elements) / MB


@dataclass(frozen=True)
class SweepRow:
    """Full fine-tuning and LoRA at one (batch, sequence length): the median-peak readings."""

    batch: int
    seq_len: int
    full: MemoryReading
    lora: MemoryReading
    full_peaks: tuple[float, ...] = ()  # every repeat's peak delta, MB
    lora_peaks: tuple[float, ...] = ()

    @property
    def saving(self) -> float:
        """``1 − LoRA peak delta / full peak delta``: 0.4 is the roadmap's −40 %."""
        return 1.0 - self.lora.peak_delta_mb / max(self.full.peak_delta_mb, 1e-9)


# ---------------------------------------------------------------- reading the peak (child side)


def _status_kb(key: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of ``/proc/self/status`` in kB, or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakProbe:
    """Peak resident memory of this process from ``start()`` on, in MB.

    ``start`` records the current RSS and resets the kernel's high-water mark; ``delta_mb``
    is then ``VmHWM − start RSS``. Without ``/proc/self/clear_refs`` the high-water mark is
    ``ru_maxrss`` since the process began, which also counts what happened before ``start``.
    """

    def __init__(self) -> None:
        self.start_kb = 0
        self.method = ""

    def start(self) -> float:
        """Reset the high-water mark; return the resident memory now, in MB."""
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
                clear.write("5")
            self.method = "VmHWM reset by /proc/self/clear_refs, minus VmRSS after loading"
        except OSError:
            self.method = "ru_maxrss of a fresh process minus RSS after loading (load peak counts)"
        self.start_kb = _status_kb("VmRSS") or _ru_maxrss_kb()
        return self.start_kb / 1024

    def delta_mb(self) -> float:
        """Peak resident memory since ``start`` minus the resident memory at ``start``."""
        hwm = _status_kb("VmHWM") if self.method.startswith("VmHWM") else None
        return ((hwm or _ru_maxrss_kb()) - self.start_kb) / 1024


def _ru_maxrss_kb() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


# ---------------------------------------------------------------- child jobs


def _calibrate(job: dict[str, Any]) -> MemoryReading:
    """Allocate and touch a tensor of a known size: the probe must see that many MB."""
    import torch

    probe = PeakProbe()
    after_load = probe.start()
    started = time.perf_counter()
    block = torch.ones(int(job["megabytes"] * MB) // 4, dtype=torch.float32)  # written: resident
    del block
    return MemoryReading(
        "calibration", 0, 0, 0, after_load, probe.delta_mb(), probe.method,
        seconds=time.perf_counter() - started,
    )  # fmt: skip


def _load_for_training(job: dict[str, Any]) -> Any:
    """The encoder with a fresh token-classification head, LoRA-injected when asked."""
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    from ai_roadmap.nlp.lora import inject_lora

    hf_logging.set_verbosity_error()  # the MLM head's unused weights are expected
    model = AutoModelForTokenClassification.from_pretrained(
        job["encoder_dir"], num_labels=job["num_labels"], local_files_only=True
    )
    if job["mode"] == "lora":
        lora = job["lora"]
        inject_lora(
            model, lora["targets"], lora["r"], lora["alpha"], lora["dropout"], ("classifier",)
        )
    return model.to(job["device"]).train()


def _warm_up(model: Any, device: str) -> None:
    """One forward/backward on a (1, 8) batch to the input embeddings only, before the reset.

    It starts the runtime's one-time machinery (autograd's engine, the thread pool, kernel
    caches: ~30 MB that is the same for both modes) without creating any parameter gradient,
    so the measured delta is the training itself.
    """
    import torch

    embeds = torch.randn(1, 8, model.config.hidden_size, device=device, requires_grad=True)
    labels = torch.zeros(1, 8, dtype=torch.long, device=device)
    loss = model(inputs_embeds=embeds, labels=labels).loss
    torch.autograd.grad(loss, embeds)


def _train(job: dict[str, Any]) -> MemoryReading:
    """Load, reset the probe, run ``steps`` AdamW steps, read the peak and the state sizes."""
    import torch

    from ai_roadmap.nlp.lora import total_parameters, trainable_parameters

    torch.manual_seed(job["seed"])
    torch.set_num_threads(job["threads"])
    model = _load_for_training(job)
    device, shape = job["device"], (job["batch"], job["seq_len"])
    ids = torch.randint(5, model.config.vocab_size, shape, device=device)
    labels = torch.randint(0, job["num_labels"], shape, device=device)
    _warm_up(model, device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_base = torch.cuda.memory_allocated()
    probe = PeakProbe()
    after_load = probe.start()
    started = time.perf_counter()
    grad_elements = 0
    for _ in range(job["steps"]):
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        grad_elements = sum(p.grad.numel() for p in params if p.grad is not None)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    moments = sum(
        tensor.numel()
        for state in optimizer.state.values()
        for key, tensor in state.items()
        if key in ("exp_avg", "exp_avg_sq")
    )
    cuda_peak = (torch.cuda.max_memory_allocated() - cuda_base) / MB if cuda else None
    return MemoryReading(
        job["mode"], job["batch"], job["seq_len"], job["steps"], after_load,
        probe.delta_mb(), probe.method, trainable_parameters(model), total_parameters(model),
        grad_elements, moments, cuda_peak, seconds,
    )  # fmt: skip


def _child_main(argv: Sequence[str]) -> int:
    """Entry of the child process: run the JSON job, print the reading as one JSON line."""
    os.environ.update(OFFLINE)
    job = json.loads(argv[0])
    reading = _calibrate(job) if job["kind"] == "calibrate" else _train(job)
    print(json.dumps(asdict(reading)))
    return 0


# ---------------------------------------------------------------- parent side


def _run_child(job: dict[str, Any], timeout_s: float) -> MemoryReading:
    """Run one job in a fresh interpreter and read back its reading."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, **OFFLINE}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "ai_roadmap.nlp.memory", json.dumps(job)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise RoadmapError(
            f"memory measurement ran past {timeout_s:.0f} s; use fewer steps or smaller rows"
        ) from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RoadmapError(f"memory measurement failed in its child process: {last}")
    return MemoryReading(**json.loads(done.stdout.strip().splitlines()[-1]))


def calibration_reading(megabytes: float = 200.0, timeout_s: float = 120.0) -> MemoryReading:
    """Measure a child that allocates ``megabytes`` MB: ``peak_delta_mb`` should match it."""
    return _run_child({"kind": "calibrate", "megabytes": megabytes}, timeout_s)


def measure_training(
    encoder_dir: Path | str,
    mode: str,
    batch: int,
    seq_len: int,
    *,
    steps: int = 3,
    num_labels: int = 7,
    lora: LoRASettings = LoRASettings(),
    threads: int = 1,
    device: str = "cpu",
    seed: int = 0,
    timeout_s: float = 600.0,
    fresh_process: bool = True,
) -> MemoryReading:
    """Peak training delta of ``steps`` AdamW steps at (batch, seq_len), in a fresh process.

    ``fresh_process=False`` runs in this process instead (quick looks, tests): the state
    counts are the same, but the peak then depends on what this process already holds.
    """
    if mode not in ("full", "lora"):
        raise UsageError(f"mode must be 'full' or 'lora', got {mode!r}")
    if batch < 1 or seq_len < 1 or steps < 1:
        raise UsageError(f"batch, seq_len and steps must be ≥ 1, got {batch}, {seq_len}, {steps}")
    _check_encoder(Path(encoder_dir), seq_len)
    job = {
        "kind": "train", "encoder_dir": str(encoder_dir), "mode": mode, "batch": batch,
        "seq_len": seq_len, "steps": steps, "num_labels": num_labels, "lora": asdict(lora),
        "threads": threads, "device": device, "seed": seed,
    }  # fmt: skip
    if not fresh_process:
        return _train(job)
    return _run_child(job, timeout_s)


def _check_encoder(encoder_dir: Path, seq_len: int) -> None:
    """A one-line error for a missing folder or a length the position table cannot hold."""
    config_file = encoder_dir / "config.json"
    if not config_file.is_file():
        raise UsageError(
            f"{encoder_dir} is not a Hugging Face model folder (no config.json); "
            "pass the folder save_pretrained wrote"
        )
    config = SimpleNamespace(**json.loads(config_file.read_text(encoding="utf-8")))
    check_max_len(config, seq_len, specials=0)  # the measured batch is seq_len tokens as given


def memory_sweep(
    encoder_dir: Path | str,
    rows: Sequence[tuple[int, int]],
    *,
    steps: int = 3,
    num_labels: int = 7,
    lora: LoRASettings = LoRASettings(),
    threads: int = 1,
    device: str = "cpu",
    seed: int = 0,
    repeats: int = 1,
    fresh_process: bool = True,
) -> list[SweepRow]:
    """Full fine-tuning vs LoRA peak training delta at every (batch, seq_len) of ``rows``.

    Each row runs ``repeats`` × two fresh processes, full and LoRA alternating, with the same
    data, steps and threads; the row keeps each mode's median-peak reading and every peak
    (``fresh_process=False``: all in this process, for tests; see ``measure_training``).
    """
    if not rows or repeats < 1:
        raise UsageError("memory_sweep needs at least one (batch, seq_len) row and repeats ≥ 1")
    out = []
    for batch, seq_len in rows:
        runs: dict[str, list[MemoryReading]] = {"full": [], "lora": []}
        for _ in range(repeats):
            for mode in runs:
                runs[mode].append(measure_training(
                    encoder_dir, mode, batch, seq_len, steps=steps, num_labels=num_labels,
                    lora=lora, threads=threads, device=device, seed=seed,
                    fresh_process=fresh_process,
                ))  # fmt: skip
        full, low = (_median(runs[mode]) for mode in ("full", "lora"))
        peaks = {mode: tuple(r.peak_delta_mb for r in runs[mode]) for mode in runs}
        out.append(SweepRow(batch, seq_len, full, low, peaks["full"], peaks["lora"]))
    return out


def _median(readings: list[MemoryReading]) -> MemoryReading:
    """The reading with the median peak (the lower middle one for an even count)."""
    ordered = sorted(readings, key=lambda r: r.peak_delta_mb)
    return ordered[(len(ordered) - 1) // 2]


def sweep_table(rows: Sequence[SweepRow]) -> list[dict[str, float]]:
    """Flat rows for a report: median peak deltas and their spread (max − min over repeats),
    the gradient+moment part of each, the saving."""
    return [
        {
            "batch": row.batch,
            "seq_len": row.seq_len,
            "full_peak_mb": round(row.full.peak_delta_mb, 1),
            "lora_peak_mb": round(row.lora.peak_delta_mb, 1),
            "full_spread_mb": round(
                max(row.full_peaks, default=0) - min(row.full_peaks, default=0), 1
            ),
            "lora_spread_mb": round(
                max(row.lora_peaks, default=0) - min(row.lora_peaks, default=0), 1
            ),
            "full_state_mb": round(row.full.state_mb, 1),
            "lora_state_mb": round(row.lora.state_mb, 1),
            "saving": round(row.saving, 3),
        }
        for row in rows
    ]


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
