"""Peak training memory: the probe sees a known allocation; LoRA's optimizer state is small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.lora import LoRASettings
from ai_roadmap.nlp.memory import (
    calibration_reading,
    measure_training,
    memory_sweep,
    sweep_table,
)
from tiny_hf_encoder import save_tiny_encoder

HIDDEN, LAYERS, LABELS = 32, 2, 7


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("enc") / "encoder"
    return save_tiny_encoder(folder, "abcdefgh0123456789", hidden=HIDDEN, layers=LAYERS)


@pytest.mark.slow
def test_a_known_allocation_is_measured() -> None:
    reading = calibration_reading(200.0)
    assert reading.method.startswith("VmHWM")  # Linux: the high-water mark was reset
    # 200 MB written into a fresh process: the probe sees it, plus a few MB of the runtime
    assert 198.0 <= reading.peak_delta_mb <= 215.0


def test_lora_optimizer_state_is_the_adapters_and_the_head(
    encoder: Path, one_torch_thread: None
) -> None:
    lora = LoRASettings(r=4, alpha=8.0)
    (row,) = memory_sweep(
        encoder, [(4, 16)], steps=2, num_labels=LABELS, lora=lora, repeats=3, fresh_process=False
    )
    assert len(row.full_peaks) == len(row.lora_peaks) == 3
    assert row.full.peak_delta_mb == sorted(row.full_peaks)[1]  # the median run's reading
    head = HIDDEN * LABELS + LABELS
    adapters = LAYERS * len(lora.targets) * lora.r * (HIDDEN + HIDDEN)
    base = row.full.total_params
    assert row.lora.total_params == base + adapters
    assert row.full.trainable_params == base
    assert row.lora.trainable_params == adapters + head
    # AdamW keeps two moments per trainable element; a gradient per trainable element
    assert row.full.optimizer_state_elements == 2 * base
    assert row.lora.optimizer_state_elements == 2 * (adapters + head)
    assert row.full.optimizer_state_elements - row.lora.optimizer_state_elements == 2 * (
        base - adapters - head
    )
    assert row.full.grad_elements == base and row.lora.grad_elements == adapters + head
    # in this process freed memory is reused, so only the fresh-process figure is a measurement
    assert row.full.peak_delta_mb >= 0 and row.lora.peak_delta_mb >= 0
    (table,) = sweep_table([row])
    assert table["saving"] == pytest.approx(row.saving, abs=1e-3)
    assert json.dumps(table)  # plain numbers, ready for a report


@pytest.mark.slow
def test_a_training_measurement_runs_in_its_own_process(encoder: Path) -> None:
    lora = LoRASettings(r=2, alpha=4.0)
    reading = measure_training(encoder, "lora", 2, 8, steps=1, num_labels=LABELS, lora=lora)
    assert reading.mode == "lora" and reading.steps == 1
    assert reading.trainable_params == LAYERS * 2 * 2 * (2 * HIDDEN) + HIDDEN * LABELS + LABELS
    assert reading.optimizer_state_elements == 2 * reading.trainable_params
    assert reading.rss_after_load_mb > 50  # a process that loaded torch and the model
    assert reading.peak_delta_mb > 0


def test_bad_requests_are_usage_errors(encoder: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds 64 tokens"):
        measure_training(encoder, "full", 2, 65)
    with pytest.raises(UsageError, match=r"no config\.json"):
        measure_training(tmp_path, "lora", 2, 8)
    with pytest.raises(UsageError, match="mode"):
        measure_training(encoder, "adapters", 2, 8)
    with pytest.raises(UsageError, match="at least one"):
        memory_sweep(encoder, [])
