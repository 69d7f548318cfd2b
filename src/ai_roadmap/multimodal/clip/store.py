"""A trained dual encoder as a model folder: weights, architecture, the index, the card."""

from __future__ import annotations

from pathlib import Path

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.artifacts.torch import save_torch_model
from ai_roadmap.multimodal.clip.index import INDEX_FILE, ImageIndex
from ai_roadmap.multimodal.clip.model import DualEncoder

MILESTONE = "s4.clip"


def clip_card(model: DualEncoder, metrics: dict[str, float]) -> ModelCard:
    """What the folder says about itself: the inputs both towers take."""
    side = model.image_size
    return ModelCard(
        name=MILESTONE,
        task="image-text retrieval",
        target="cosine of image and text embeddings",
        input_schema={
            "images": {"type": "tensor", "shape": f"(B, 3, H, W) RGB in [0, 1], resized to {side}"},
            "texts": {"type": "string", "text_tower": model.cfg.text_tower},
        },
        metrics={k: float(v) for k, v in metrics.items()},
    )


def save_clip_model(
    model: DualEncoder, folder: Path, metrics: dict[str, float], index: ImageIndex | None
) -> Path:
    """Write the folder atomically (``model.pt``, ``architecture.json``, ``index.json``, card)."""
    extras = {INDEX_FILE: index.to_json()} if index is not None else {}
    return save_torch_model(model.cpu(), folder, clip_card(model, metrics), extras)
