"""Subject fidelity and CLIP score: how close generated images are to the subject.

* **Nearest-neighbour distance** (DreamBooth's memorisation check, in pixels): for each
  image q, d(q) = min over training images r and their mirror images of
  RMS(q − r) = √(mean over pixels and channels of (q − r)²), images in [0, 1]. A sample
  at d ≈ 0 is a copy of a training image; real held-out images of the class give the
  distance of "a different picture of the same kind of thing".
* **CLIP score**: the cosine between the image embedding and the prompt's text embedding
  of a CLIP-style dual encoder, cos(f(x), g(p)), averaged over images (Hessel et al. 2021
  rescale it by 2.5 and clip at 0; here it is the plain cosine, as the roadmap's 0.82
  appears to be). Any object with ``score(images, texts) -> (B,)`` serves (the s4.clip
  scorer's interface).
"""

from __future__ import annotations

from typing import Protocol

import torch


class Scorer(Protocol):
    """What the CLIP score needs: cosine of images (B, 3, H, W) in [0, 1] with texts."""

    def score(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor: ...


def nearest_distances(queries: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """(Q,) RMS pixel distance of each query to its nearest reference or mirrored reference."""
    refs = torch.cat([references, references.flip(-1)]).flatten(1).double()  # (2R, D)
    q = queries.flatten(1).double()  # (Q, D)
    squared = (q * q).sum(1, keepdim=True) - 2 * q @ refs.T + (refs * refs).sum(1)[None]
    return (squared.clamp_min(0.0) / q.shape[1]).min(dim=1).values.sqrt()


def leave_one_out_distances(images: torch.Tensor) -> torch.Tensor:
    """(N,) each image's nearest distance to the *other* images (and their mirrors)."""
    out = []
    for i in range(len(images)):
        others = torch.cat([images[:i], images[i + 1 :]])
        out.append(nearest_distances(images[i : i + 1], others))
    return torch.cat(out)


def clip_scores(scorer: Scorer, images: torch.Tensor, prompt: str, batch: int = 64) -> torch.Tensor:
    """(B,) cosine of each image with ``prompt`` under ``scorer``."""
    parts = [scorer.score(chunk, [prompt] * len(chunk)) for chunk in images.split(batch)]
    return torch.cat([p.detach().float().cpu() for p in parts])


def load_scorer(model_dir: str | None = None) -> tuple[Scorer | None, str]:
    """(an s4.clip scorer, "") or (None, why there is none).

    From ``model_dir`` (a model folder written by s4.clip) when given, else the registry's
    ``s4.clip`` champion.
    """
    from ai_roadmap.errors import RoadmapError

    try:
        from ai_roadmap.multimodal.clip.scorer import ClipScorer, load_clip_scorer
    except ImportError:
        return None, "this checkout has no s4.clip scorer (ai_roadmap.multimodal.clip.scorer)"
    try:
        if model_dir:
            return ClipScorer.from_folder(model_dir), ""
        return load_clip_scorer(), ""
    except RoadmapError as exc:
        return None, str(exc)
    except ImportError as exc:  # a machine without the tracking store (MLflow)
        return None, f"no registry to read an s4.clip model from ({exc.name} is not installed)"
