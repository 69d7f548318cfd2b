"""Where the NER encoder rows find their encoder, and how the memory rows are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.nlp.ner.encoder import (
    EncoderSection,
    capacity,
    encoder_rows,
    locate,
    memory_metrics,
    memory_note,
)


def test_a_folder_without_config_json_is_a_one_line_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no config\.json") as caught:
        locate(EncoderSection(source=str(tmp_path)), tmp_path / "scratch")
    assert "\n" not in str(caught.value)


def test_auto_skips_and_registry_fails_when_no_s4_mlm_is_registered(
    roadmap_home: Path, tmp_path: Path
) -> None:
    folder, why = locate(EncoderSection(source="auto"), tmp_path)
    assert folder is None and "roadmap run s4.mlm" in why
    assert encoder_rows(EncoderSection(), [], [], [], tmp_path).skipped == why
    with pytest.raises(RoadmapError, match=r"run `roadmap run s4\.mlm` first"):
        locate(EncoderSection(source="registry"), tmp_path)
    assert locate(EncoderSection(source="none"), tmp_path)[0] is None


def test_bad_sections_are_refused() -> None:
    with pytest.raises(ValueError, match=r"encoder\.modes"):
        EncoderSection(modes=["full", "adapter"])
    with pytest.raises(ValueError, match="memory_rows"):
        EncoderSection(memory_rows=[[8]])


def test_capacity_counts_roberta_positions_from_pad_plus_one(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        '{"model_type": "roberta", "max_position_embeddings": 130, "pad_token_id": 1}'
    )
    assert capacity(tmp_path) == 128
    (tmp_path / "config.json").write_text('{"model_type": "bert", "max_position_embeddings": 512}')
    assert capacity(tmp_path) == 512


def test_memory_rows_become_metrics_and_a_note_naming_where_the_bar_holds() -> None:
    rows = [
        {"batch": 8, "seq_len": 64, "full_peak_mb": 150.0, "lora_peak_mb": 88.0, "saving": 0.413},
        {
            "batch": 32,
            "seq_len": 128,
            "full_peak_mb": 660.0,
            "lora_peak_mb": 610.0,
            "saving": 0.076,
        },
    ]
    metrics = memory_metrics(rows)
    assert metrics["lora_memory_saving_b8_l64"] == 0.413
    assert metrics["full_peak_mb_b32_l128"] == 660.0 and metrics["lora_peak_mb_b32_l128"] == 610.0
    note = memory_note(rows)
    assert "holds at 8×64:" in note and "32×128 " not in note.split("holds at")[1]
    assert "holds at no measured row" in memory_note(rows[1:])
    assert "not measured" in memory_note([])
