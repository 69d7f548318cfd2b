"""``ClipScorer``: the s4.clip model as a scorer of images and texts (a stable API).

Other milestones (s4.dreambooth's CLIP score) and ``roadmap search`` use only this:

* ``image_embeddings(images)`` — float RGB ``(B, 3, H, W)`` in [0, 1], any H × W
  (resized inside, bilinear with antialiasing, to the tower's square input) →
  L2-normalised ``(B, D)``;
* ``text_embeddings(texts)`` → L2-normalised ``(B, D)``;
* ``score(images, texts)`` → the cosine of each image with its own text, ``(B,)``;
* ``search(query, k)`` → the indexed stamps nearest a text, best first.

Load one with :func:`load_clip_scorer` (the registry's ``s4.clip`` champion) or
:meth:`ClipScorer.from_folder` (a saved model folder). Gradients flow to the inputs
only when the images passed in require them (the weights stay frozen).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.multimodal.clip.index import INDEX_FILE, ImageIndex, IndexEntry
from ai_roadmap.multimodal.clip.model import DualEncoder
from ai_roadmap.multimodal.clip.store import MILESTONE

NOT_TRAINED = f"no {MILESTONE} model in the registry: run `roadmap run {MILESTONE}`"


class ClipScorer:
    """A frozen dual encoder, its device, and (when its folder has one) the image index."""

    def __init__(
        self,
        model: DualEncoder,
        index: ImageIndex | None = None,
        device: str | torch.device = "cpu",
        version: str = "",
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.index = index
        self.version = version

    @classmethod
    def from_folder(cls, path: str | Path, device: str | torch.device = "cpu") -> ClipScorer:
        """A scorer from a model folder written by s4.clip (``model/`` of its run)."""
        from ai_roadmap.artifacts.torch import load_torch_model

        folder = Path(path)
        if not (folder / "architecture.json").exists():
            raise RoadmapError(
                f"{folder} is not an {MILESTONE} model folder (no architecture.json)"
            )
        model, _ = load_torch_model(folder)
        if not isinstance(model, DualEncoder):
            raise RoadmapError(f"{folder} holds a {type(model).__name__}, not an {MILESTONE} model")
        index = ImageIndex.read(folder / INDEX_FILE) if (folder / INDEX_FILE).exists() else None
        return cls(model, index, device)

    @property
    def dim(self) -> int:
        """D, the width of both embeddings."""
        return int(self.model.cfg.dim)

    @property
    def image_size(self) -> int:
        """The side of the square image the tower takes."""
        return int(self.model.image_size)

    def image_embeddings(self, images: torch.Tensor) -> torch.Tensor:
        """RGB (B, 3, H, W) in [0, 1] → L2-normalised (B, D)."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise UsageError(f"images must be RGB (B, 3, H, W); got shape {tuple(images.shape)}")
        x = images.to(self.device, torch.float32)
        side = self.image_size
        if x.shape[-2:] != (side, side):
            x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True)
        with torch.set_grad_enabled(images.requires_grad):
            return self.model.encode_images(x.clamp(0, 1))

    @torch.no_grad()
    def text_embeddings(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts → L2-normalised (B, D)."""
        if isinstance(texts, str):
            raise UsageError("text_embeddings takes a sequence of texts, not one string")
        return self.model.encode_texts(list(texts))

    def score(self, images: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        """(B,) cosine of image i with text i."""
        if len(texts) != images.shape[0]:
            raise UsageError(f"score needs one text per image: {images.shape[0]} vs {len(texts)}")
        return (self.image_embeddings(images) * self.text_embeddings(texts)).sum(-1)

    def search(self, query: str, k: int = 5) -> list[tuple[IndexEntry, float]]:
        """The ``k`` indexed stamps whose image embeddings are nearest the query's text."""
        if not query.strip():
            raise UsageError('the query is empty: give a text, e.g. roadmap search "a red apple"')
        if self.index is None:
            raise RoadmapError(f"this {MILESTONE} model has no {INDEX_FILE}: run it again")
        return self.index.top(self.text_embeddings([query])[0].cpu(), k)


def load_clip_scorer(settings: Any = None, device: str | torch.device = "cpu") -> ClipScorer:
    """The registry's ``s4.clip`` ``@champion`` as a scorer (settings: default ones)."""
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    with tempfile.TemporaryDirectory(prefix="clip-model-") as tmp:
        try:
            folder, version = champion_model_dir(settings or get_settings(), MILESTONE, Path(tmp))
        except RoadmapError:
            raise RoadmapError(NOT_TRAINED) from None
        scorer = ClipScorer.from_folder(folder, device)
    scorer.version = version
    return scorer
