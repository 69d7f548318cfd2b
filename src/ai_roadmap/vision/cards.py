"""The model card of an image classifier: the input it takes and the normalisation it expects."""

from __future__ import annotations

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.datasets.images import ImageData


def image_model_card(name: str, data: ImageData, metrics: dict[str, float]) -> ModelCard:
    """The card of an image classifier: input shape, the normalisation it expects, classes."""
    image = {
        "type": "image",
        "dtype": "uint8",
        "shape": [data.channels, data.image_size, data.image_size],
        "mean": list(data.mean),
        "std": list(data.std),
    }
    return ModelCard(
        name=name,
        task="classification",
        target="label",
        input_schema={"image": image},
        metrics=metrics,
        classes=list(data.classes),
    )
