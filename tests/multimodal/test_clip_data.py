"""Pairs, split, augmentation, the hashed text features and the keyword baseline."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.errors import UsageError
from ai_roadmap.multimodal.clip.augment import (
    ImageAugment,
    augment_images,
    caption_variants,
    flippable,
    on_white,
)
from ai_roadmap.multimodal.clip.baseline import keyword_scores, keywords, shared_depth
from ai_roadmap.multimodal.clip.pairs import Pair, split_by_image
from ai_roadmap.multimodal.clip.text_tower import HashTextConfig, features, hash_ids

FROG = Pair("animals/amphibians/frog", "images/f.png", "animals/amphibians", "A frog.", "青蛙。")
COW = Pair("animals/mammals/bovines/cow", "images/c.png", "animals/mammals/bovines", "A cow.", "")
B = Pair("symbols/alphabets/english/b", "images/b.png", "symbols/alphabets", "The letter b.", "")


def test_split_is_seeded_disjoint_and_complete() -> None:
    a, b = split_by_image(100, 0.2, seed=3), split_by_image(100, 0.2, seed=3)
    assert a == b and len(a.test) == 20 and len(a.train) == 80
    assert set(a.train).isdisjoint(a.test) and set(a.train) | set(a.test) == set(range(100))
    assert split_by_image(100, 0.2, seed=4).test != a.test
    with pytest.raises(UsageError, match="test_fraction"):
        split_by_image(100, 1.5, seed=0)


def test_augmented_images_are_rgb_in_range_and_white_view_keeps_white() -> None:
    rgba = torch.zeros(2, 4, 20, 20, dtype=torch.uint8)
    rgba[:, 0, 5:15, 5:15] = 255  # a red square, opaque; the rest transparent
    rgba[:, 3, 5:15, 5:15] = 255
    out = augment_images(rgba, torch.tensor([True, False]), 16, ImageAugment(), torch.Generator())
    assert out.shape == (2, 3, 16, 16) and float(out.min()) >= 0 and float(out.max()) <= 1
    white = on_white(rgba, 20)
    assert torch.equal(white[0, :, 0, 0], torch.ones(3))  # transparent → white
    assert torch.equal(white[0, :, 10, 10], torch.tensor([1.0, 0.0, 0.0]))  # the red stays red


def test_letters_are_never_mirrored_and_captions_get_templates() -> None:
    assert flippable([FROG, B], ImageAugment()).tolist() == [True, False]
    en = caption_variants(FROG, "en")
    assert (
        en[0] == "A frog." and "a picture of a frog" in en and "a frog (animals, amphibians)" in en
    )
    assert "一张青蛙的图片" in caption_variants(FROG, "zh") and caption_variants(COW, "zh") == []


def test_hashed_features_read_chinese_and_keep_letter_case() -> None:
    cfg = HashTextConfig(buckets=1 << 20)
    assert "1:青" in features("青蛙。", cfg.ngrams) and "2:青蛙" in features("青蛙。", cfg.ngrams)
    assert hash_ids("The letter a.", cfg) != hash_ids("The letter A.", cfg)
    assert hash_ids("A frog.", cfg) == hash_ids("A frog.", cfg)


def test_keyword_baseline_guesses_the_category_of_the_nearest_training_caption() -> None:
    assert keywords("The baby of a gnu.") == frozenset({"baby", "gnu"})
    assert shared_depth("animals/mammals/bovines", "animals/mammals") == 2
    toad = Pair("animals/amphibians/toad", "t.png", "animals/amphibians", "A green frog.", "")
    scores = keyword_scores(["A green frog."], [FROG, COW], [toad], "en")
    assert scores.tolist() == [[2.0, 1.0]]  # same folder beats a shared top level
