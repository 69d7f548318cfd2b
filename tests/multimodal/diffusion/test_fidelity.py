"""Nearest-neighbour distances, the duck-typed CLIP score and the evaluation figures."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch

from ai_roadmap.multimodal.diffusion import evaluate as ev
from ai_roadmap.multimodal.diffusion.features import FeatureNet
from ai_roadmap.multimodal.diffusion.fidelity import (
    clip_scores,
    leave_one_out_distances,
    load_scorer,
    nearest_distances,
)


class ColourScorer:
    """A stand-in for the s4.clip scorer: an image's embedding is its mean colour, a
    text's embedding is a fixed colour per word; score = cosine of the two."""

    colours: ClassVar[dict[str, tuple[float, float, float]]] = {
        "red": (1.0, 0.0, 0.0),
        "blue": (0.0, 0.0, 1.0),
    }

    def score(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
        a = torch.nn.functional.normalize(images.mean(dim=(2, 3)), dim=1)
        b = torch.tensor([self.colours[t] for t in texts])
        return (a * b).sum(1)


def solid(colour: tuple[float, float, float], n: int, size: int = 8) -> torch.Tensor:
    return torch.tensor(colour).reshape(1, 3, 1, 1).expand(n, 3, size, size).clone()


def test_nearest_distances_match_brute_force_and_count_mirrors() -> None:
    generator = torch.Generator().manual_seed(0)
    refs = torch.rand(5, 3, 6, 6, generator=generator)
    queries = torch.rand(7, 3, 6, 6, generator=generator)
    got = nearest_distances(queries, refs)
    both = torch.cat([refs, refs.flip(-1)])
    brute = torch.tensor([min(float(((q - r) ** 2).mean().sqrt()) for r in both) for q in queries])
    torch.testing.assert_close(got.float(), brute, atol=1e-6, rtol=0)
    # a copy, and a mirrored copy, of a reference are at distance 0
    copies = torch.stack([refs[2], refs[3].flip(-1)])
    assert nearest_distances(copies, refs).max() < 1e-6
    loo = leave_one_out_distances(refs)
    assert loo.min() > 0.05  # random images are not near each other


def test_clip_scores_use_the_scorer_and_order_sets() -> None:
    scorer = ColourScorer()
    red, blue = solid((0.9, 0.1, 0.1), 5), solid((0.1, 0.1, 0.9), 3)
    on_red = clip_scores(scorer, torch.cat([red, blue]), "red", batch=4)
    assert on_red.shape == (8,)
    assert on_red[:5].min() > 0.95 and on_red[5:].max() < 0.2


def test_evaluation_figures_bracket_subject_samples() -> None:
    """Samples equal to the subject copy it (copy rate 1); CLIP score ends order as expected."""
    generator = torch.Generator().manual_seed(0)
    subject = solid((0.9, 0.1, 0.1), 4) + 0.05 * torch.rand(4, 3, 8, 8, generator=generator)
    other = solid((0.1, 0.1, 0.9), 6) + 0.05 * torch.rand(6, 3, 8, 8, generator=generator)
    sets = ev.ImageSets(
        subject=subject,
        class_real=other,
        class_heldout=other[:3],
        base_class=other[3:],
        subject_samples=subject.clone(),
        class_after=other[:4],
    )
    fid = ev.fidelity_figures(sets)
    assert fid["copy_rate_subject_samples"] == 1.0 and fid["nn_dist_subject_samples"] < 1e-6
    assert fid["nn_dist_heldout_class"] > 10 * fid["nn_dist_subject_loo"]
    clip = ev.clip_figures(sets, ColourScorer(), "red")
    assert clip["clip_score"] == pytest.approx(clip["clip_score_real_subject"])
    assert clip["clip_score_base_class"] < 0.3 < clip["clip_score"]
    net = FeatureNet(classes=2, width=8).eval()
    cls = ev.class_figures(sets, net, class_index=0)
    assert set(cls) == {
        "fd_heldout_class",
        "fd_base_class",
        "class_rate_base_class",
        "fd_class_after",
        "class_rate_class_after",
    }
    assert all(np.isfinite(v) and v >= 0 for v in cls.values())


def test_no_registered_clip_model_gives_a_reason(roadmap_home: object) -> None:
    scorer, reason = load_scorer()
    assert scorer is None and "clip" in reason.lower()
