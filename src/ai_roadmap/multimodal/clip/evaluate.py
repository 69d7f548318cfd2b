"""Retrieval figures on the held-out images: the model, the keyword baseline, chance.

For each language the queries are the test images' captions in that language (every
test image has an English caption; fewer have a Chinese one) and the image gallery is
*all* test images, so text → image Recall@K is out of N = the number of test images
in both languages. Image → text lets each captioned test image search the M captions
of its language. Chance is K / N (text → image) and K / M (image → text).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ai_roadmap.multimodal.clip.baseline import keyword_scores
from ai_roadmap.multimodal.clip.model import DualEncoder
from ai_roadmap.multimodal.clip.pairs import Pair
from ai_roadmap.multimodal.clip.recall import recalls_from_scores, retrieval_recalls
from ai_roadmap.multimodal.clip.train import embed_images, embed_texts

LANGUAGES = ("en", "zh")


def caption(pair: Pair, lang: str) -> str:
    return pair.caption_zh if lang == "zh" else pair.caption_en


def queries(test: Sequence[Pair], lang: str) -> tuple[list[int], list[str]]:
    """(owner image index, caption) of every test image captioned in ``lang``."""
    owners = [i for i, p in enumerate(test) if caption(p, lang)]
    return owners, [caption(test[i], lang) for i in owners]


def model_recalls(
    model: DualEncoder, test_pixels: torch.Tensor, test: Sequence[Pair], ks: Sequence[int]
) -> dict[str, float]:
    """``{lang}_{t2i|i2t}[_lenient]_r{K}`` of the model on the test images."""
    images = embed_images(model, test_pixels)
    out: dict[str, float] = {}
    for lang in LANGUAGES:
        owners, captions = queries(test, lang)
        if len(owners) < 2:
            continue
        texts = embed_texts(model, captions)
        out |= {
            f"{lang}_{k}": v
            for k, v in retrieval_recalls(images, texts, owners, captions, ks).items()
        }
    return out


def baseline_recalls(
    test: Sequence[Pair], train: Sequence[Pair], ks: Sequence[int]
) -> dict[str, float]:
    """The caption-keyword baseline's figures, named as the model's."""
    out: dict[str, float] = {}
    for lang in LANGUAGES:
        owners, captions = queries(test, lang)
        if len(owners) < 2:
            continue
        scores = keyword_scores(captions, test, train, lang)  # (M, N)
        out |= {
            f"{lang}_{k}": v for k, v in recalls_from_scores(scores, owners, captions, ks).items()
        }
    return out


def chance_recalls(test: Sequence[Pair], ks: Sequence[int]) -> dict[str, float]:
    """K / gallery size for each direction and language, and the gallery sizes."""
    out = {"gallery_images": float(len(test))}
    for lang in LANGUAGES:
        m = len(queries(test, lang)[0])
        out[f"{lang}_queries"] = float(m)
        for k in ks:
            out[f"{lang}_t2i_r{k}"] = min(1.0, k / len(test))
            out[f"{lang}_i2t_r{k}"] = min(1.0, k / m) if m else 0.0
    return out
