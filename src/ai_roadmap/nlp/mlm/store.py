"""The trained encoder as a Hugging Face folder inside the roadmap's model-folder format.

``save_pretrained`` of the model and of the tokenizer (``config.json``,
``model.safetensors``, ``tokenizer.json``, ``tokenizer_config.json``, …) plus
``model_card.json`` with the sha256 of every file and the run's metrics, written into a
temporary sibling and renamed, so a folder is complete or absent. ``AutoModel``,
``AutoModelForMaskedLM`` and ``AutoTokenizer`` read it offline (``from_pretrained(dir)``);
the NER milestone fine-tunes it from the registry's ``s4.mlm`` champion.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ai_roadmap.artifacts.hf import WEIGHTS, save_hf_folder

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

MILESTONE = "s4.mlm"
__all__ = ["MILESTONE", "WEIGHTS", "save_encoder"]


def save_encoder(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    folder: Path,
    metrics: dict[str, float],
) -> Path:
    """Write the model folder; returns it."""
    return save_hf_folder(
        model,
        tokenizer,
        folder,
        name=MILESTONE,
        task="fill-mask",
        target="masked character",
        input_schema={"text": {"type": "string"}},
        metrics=metrics,
    )
