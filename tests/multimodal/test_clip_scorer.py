"""ClipScorer: the API s4.dreambooth and `roadmap search` rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ai_roadmap.errors import RoadmapError
from ai_roadmap.multimodal.clip.image_tower import ImageTowerConfig
from ai_roadmap.multimodal.clip.index import ImageIndex, IndexEntry
from ai_roadmap.multimodal.clip.model import ClipConfig, DualEncoder
from ai_roadmap.multimodal.clip.scorer import ClipScorer
from ai_roadmap.multimodal.clip.store import save_clip_model
from ai_roadmap.multimodal.clip.text_tower import HashTextConfig

TINY = ClipConfig(
    dim=16,
    image=ImageTowerConfig(image_size=32, widths=(8, 16)),
    hash_text=HashTextConfig(buckets=256, width=16),
)


def tiny_folder(path: Path) -> Path:
    torch.manual_seed(0)
    model = DualEncoder(TINY)
    entries = [
        IndexEntry(f"s{i}", f"images/s{i}.png", "c", f"cap {i}", "", "test") for i in range(3)
    ]
    images = torch.rand(3, 3, 32, 32)
    index = ImageIndex("tuxpaint-stamps", entries, model.eval().encode_images(images).detach())
    return save_clip_model(model, path / "model", {"recall_at_5": 0.5}, index)


def test_embeddings_are_unit_rows_of_any_image_size(tmp_path: Path) -> None:
    scorer = ClipScorer.from_folder(tiny_folder(tmp_path))
    for h, w in ((32, 32), (57, 90)):
        u = scorer.image_embeddings(torch.rand(2, 3, h, w))
        assert u.shape == (2, 16)
        torch.testing.assert_close(u.norm(dim=-1), torch.ones(2))
    v = scorer.text_embeddings(["a red apple", "一个苹果"])
    assert v.shape == (2, 16)
    torch.testing.assert_close(v.norm(dim=-1), torch.ones(2))


def test_score_is_the_cosine_of_each_pair(tmp_path: Path) -> None:
    scorer = ClipScorer.from_folder(tiny_folder(tmp_path))
    images, texts = torch.rand(3, 3, 40, 40), ["a frog", "a cow", "a tree"]
    u, v = scorer.image_embeddings(images), scorer.text_embeddings(texts)
    expected = torch.stack([torch.dot(u[i], v[i]) for i in range(3)])
    torch.testing.assert_close(scorer.score(images, texts), expected)


def test_folder_round_trip_gives_the_same_embeddings(tmp_path: Path) -> None:
    folder = tiny_folder(tmp_path)
    a, b = ClipScorer.from_folder(folder), ClipScorer.from_folder(folder)
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(a.image_embeddings(x), b.image_embeddings(x))
    assert a.index is not None and len(a.index.entries) == 3
    # the indexed image's own embedding ranks it first for a query equal to that embedding
    top = a.index.top(a.index.embeddings[1], k=2)
    assert top[0][0].id == "s1" and top[0][1] == pytest.approx(1.0, abs=1e-5)


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(RoadmapError, match=r"not an s4\.clip model folder"):
        ClipScorer.from_folder(tmp_path)
