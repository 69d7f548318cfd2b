"""The figures of a DreamBooth run, from sets of real and generated images.

Every set is (N, 3, S, S) in [0, 1]. Fidelity is measured in pixels against the subject's
training images (:mod:`.fidelity`); class likeness as the Fréchet distance of
:mod:`.frechet` on the features of the classifier of :mod:`.features`, and as the
fraction of samples that classifier assigns to the intended class; CLIP scores, when a
scorer is given, against the subject prompt for every set, so the two ends (real subject
images, base-model samples of the class) bracket the generated subject images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ai_roadmap.multimodal.diffusion.features import FeatureNet, image_features, predict_classes
from ai_roadmap.multimodal.diffusion.fidelity import (
    Scorer,
    clip_scores,
    leave_one_out_distances,
    nearest_distances,
)
from ai_roadmap.multimodal.diffusion.frechet import frechet_between


@dataclass
class ImageSets:
    """Real and generated image sets of one run; ``None`` where a set was not made."""

    subject: torch.Tensor  # the n training images of the subject
    class_real: torch.Tensor  # real training images of the subject's class
    class_heldout: torch.Tensor  # held-out real images of that class
    base_class: torch.Tensor  # base model, class label (also the prior-preservation images)
    subject_samples: torch.Tensor  # fine-tuned with prior preservation, label [V]
    class_after: torch.Tensor  # fine-tuned with prior preservation, class label
    subject_samples_no_prior: torch.Tensor | None = None  # fine-tuned with λ = 0, label [V]
    class_after_no_prior: torch.Tensor | None = None  # fine-tuned with λ = 0, class label

    def generated(self) -> dict[str, torch.Tensor]:
        sets = {
            "base_class": self.base_class,
            "subject_samples": self.subject_samples,
            "class_after": self.class_after,
            "subject_samples_no_prior": self.subject_samples_no_prior,
            "class_after_no_prior": self.class_after_no_prior,
        }
        return {k: v for k, v in sets.items() if v is not None}


def fidelity_figures(sets: ImageSets) -> dict[str, float]:
    """Mean nearest distance to the subject's images of each set, and the copy rate.

    A sample "copies" a training image when it is closer to one than the two closest
    real subject images are to each other (the smallest leave-one-out distance).
    """
    own = leave_one_out_distances(sets.subject)
    closest_pair = float(own.min())
    figures = {
        "nn_dist_subject_loo": float(own.mean()),
        "nn_dist_heldout_class": float(nearest_distances(sets.class_heldout, sets.subject).mean()),
    }
    for name, images in sets.generated().items():
        d = nearest_distances(images, sets.subject)
        figures[f"nn_dist_{name}"] = float(d.mean())
        if name.startswith("subject_samples"):
            figures[f"copy_rate_{name}"] = float((d < closest_pair).double().mean())
    return figures


def class_figures(sets: ImageSets, net: FeatureNet, class_index: int) -> dict[str, float]:
    """Fréchet distances to the real class images, and the classifier's class rate, per set."""
    real = image_features(net, sets.class_real)
    figures = {"fd_heldout_class": frechet_between(image_features(net, sets.class_heldout), real)}
    for name, images in sets.generated().items():
        if name.startswith("subject_samples"):
            continue
        figures[f"fd_{name}"] = frechet_between(image_features(net, images), real)
        rate = (predict_classes(net, images) == class_index).double().mean()
        figures[f"class_rate_{name}"] = float(rate)
    return figures


def clip_figures(sets: ImageSets, scorer: Scorer, prompt: str) -> dict[str, float]:
    """Mean CLIP cosine with the subject prompt: generated subject, real subject, base class."""
    figures = {
        "clip_score": float(clip_scores(scorer, sets.subject_samples, prompt).mean()),
        "clip_score_real_subject": float(clip_scores(scorer, sets.subject, prompt).mean()),
        "clip_score_base_class": float(clip_scores(scorer, sets.base_class, prompt).mean()),
        "clip_score_heldout_class": float(clip_scores(scorer, sets.class_heldout, prompt).mean()),
    }
    if sets.subject_samples_no_prior is not None:
        no_prior = clip_scores(scorer, sets.subject_samples_no_prior, prompt)
        figures["clip_score_no_prior"] = float(no_prior.mean())
    return figures
