"""The RLHF policy as a Hugging Face folder inside the roadmap's model-folder format.

``save_pretrained`` of the ``GPT2LMHeadModel`` and of the char-level tokenizer, plus
``model_card.json`` (sha256 of every file, the run's metrics), written into a temporary
sibling and renamed. ``AutoModelForCausalLM`` / ``AutoTokenizer`` read it offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_roadmap.artifacts.hf import WEIGHTS, save_hf_folder

MILESTONE = "s4.rlhf"
__all__ = ["MILESTONE", "WEIGHTS", "save_policy"]


def save_policy(model: Any, tokenizer: Any, folder: Path, metrics: dict[str, float]) -> Path:
    """Write the model folder; returns it."""
    return save_hf_folder(
        model,
        tokenizer,
        folder,
        name=MILESTONE,
        task="generation",
        target="a 绝句 answering the prompt",
        input_schema={"prompt": {"type": "string"}},
        metrics=metrics,
    )
