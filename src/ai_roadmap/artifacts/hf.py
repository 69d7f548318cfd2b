"""A Hugging Face model + tokenizer as a roadmap model folder.

``save_pretrained`` of both (``config.json``, ``model.safetensors``, ``tokenizer.json``, …)
plus ``model_card.json`` with the sha256 of every file, written into a temporary sibling and
renamed, so a folder is complete or absent. ``from_pretrained(dir)`` reads it offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_roadmap.artifacts import ModelCard, atomic_folder, library_versions, write_card

WEIGHTS = "model.safetensors"


def save_hf_folder(
    model: Any,
    tokenizer: Any,
    folder: Path,
    *,
    name: str,
    task: str,
    target: str,
    input_schema: dict[str, Any],
    metrics: dict[str, float],
) -> Path:
    """Write ``folder`` (model, tokenizer, card); returns it."""
    card = ModelCard(
        name=name,
        task=task,
        target=target,
        input_schema=input_schema,
        versions=library_versions("torch", "transformers", "tokenizers"),
        metrics=dict(metrics),
        format="huggingface",
    )
    with atomic_folder(folder) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_card(tmp, card, WEIGHTS)
    return folder
