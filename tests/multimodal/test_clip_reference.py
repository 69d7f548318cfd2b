"""Reference checks of the from-scratch pieces: InfoNCE, Recall@K, the temperature clamp."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from ai_roadmap.multimodal.clip.loss import MAX_LOGIT_SCALE, LogitScale, clip_logits, info_nce
from ai_roadmap.multimodal.clip.recall import hit_probability, recall_at_k, retrieval_recalls

pytestmark = pytest.mark.reference


def explicit_info_nce(logits: torch.Tensor) -> torch.Tensor:
    """½(−1/B Σ_i log(e^{s_ii} / Σ_j e^{s_ij}) − 1/B Σ_j log(e^{s_jj} / Σ_i e^{s_ij}))."""
    b = logits.shape[0]
    total = torch.zeros((), dtype=torch.float64)
    for i in range(b):
        row = sum(math.exp(float(logits[i, j])) for j in range(b))
        col = sum(math.exp(float(logits[j, i])) for j in range(b))
        total -= math.log(math.exp(float(logits[i, i])) / row)
        total -= math.log(math.exp(float(logits[i, i])) / col)
    return total / (2 * b)


def test_info_nce_equals_the_formula_and_cross_entropy_both_ways() -> None:
    g = torch.Generator().manual_seed(0)
    u = F.normalize(torch.randn(7, 5, generator=g, dtype=torch.float64), dim=-1)
    v = F.normalize(torch.randn(7, 5, generator=g, dtype=torch.float64), dim=-1)
    logits = clip_logits(u, v, torch.tensor(10.0, dtype=torch.float64))
    ours = info_nce(logits)
    torch.testing.assert_close(ours, explicit_info_nce(logits), atol=1e-12, rtol=0)
    target = torch.arange(7)
    both = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    torch.testing.assert_close(ours, both, atol=1e-12, rtol=0)


def test_info_nce_gradient_matches_autograd_of_the_formula() -> None:
    g = torch.Generator().manual_seed(1)
    a = torch.randn(4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = a.detach().clone().requires_grad_(True)
    info_nce(a).backward()
    rows = torch.log_softmax(b, dim=1).diagonal().mean()
    cols = torch.log_softmax(b, dim=0).diagonal().mean()
    (-(rows + cols) / 2).backward()
    assert a.grad is not None and b.grad is not None
    torch.testing.assert_close(a.grad, b.grad, atol=1e-12, rtol=0)


def test_identity_pairs_give_perfect_retrieval_and_the_expected_loss() -> None:
    """The same embeddings fed as both sides: every query finds itself first."""
    u = F.normalize(torch.eye(6, dtype=torch.float64) + 0.1, dim=-1)
    scale = torch.tensor(100.0, dtype=torch.float64)
    logits = clip_logits(u, u, scale)
    off = float(u[0] @ u[1])  # all off-diagonal cosines are equal here
    expected = -math.log(math.exp(100.0) / (math.exp(100.0) + 5 * math.exp(100.0 * off)))
    assert float(info_nce(logits)) == pytest.approx(expected, rel=1e-9)
    recalls = retrieval_recalls(u, u, list(range(6)), [f"c{i}" for i in range(6)], (1,))
    assert recalls["t2i_r1"] == 1.0 and recalls["i2t_r1"] == 1.0
    with pytest.raises(ValueError, match="square"):
        info_nce(logits[:, :3])


def brute_force(scores: torch.Tensor, positives: torch.Tensor, k: int) -> float:
    """Mean over queries and over every order of tied items of 'a positive is in the top k'."""
    total = 0.0
    for s, p in zip(scores.tolist(), positives.tolist(), strict=True):
        orders = list(itertools.permutations(range(len(s))))
        ranked = [o for o in orders if all(s[o[i]] >= s[o[i + 1]] for i in range(len(o) - 1))]
        total += sum(any(p[j] for j in o[:k]) for o in ranked) / len(ranked)
    return total / len(scores)


def test_recall_equals_brute_force_ranking_with_and_without_ties() -> None:
    g = torch.Generator().manual_seed(2)
    scores = torch.randn(5, 6, generator=g)
    scores[1, :4] = 0.5  # a four-way tie around a positive
    scores[3] = 1.0  # all tied
    positives = torch.zeros(5, 6, dtype=torch.bool)
    positives[torch.arange(5), torch.tensor([0, 2, 5, 1, 3])] = True
    positives[3, 4] = True  # two positives
    for k, ours in recall_at_k(scores, positives, (1, 2, 3, 5)).items():
        assert ours == pytest.approx(brute_force(scores, positives, k), abs=1e-12), k


def test_hit_probability_edges() -> None:
    s = torch.tensor([3.0, 2.0, 2.0, 1.0])
    assert hit_probability(s, torch.tensor([False, False, False, True]), 3) == 0.0
    assert hit_probability(s, torch.tensor([False, True, False, False]), 2) == 0.5
    assert hit_probability(s, torch.zeros(4, dtype=torch.bool), 4) == 0.0


def test_lenient_counts_identically_captioned_images() -> None:
    # two images share the caption "A frog."; the text of image 0 ranks image 1 first
    images = torch.eye(3)
    texts = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.9, 0.1], [0.0, 0.0, 1.0]])
    r = retrieval_recalls(images, texts, [0, 1, 2], ["A frog.", "A frog.", "A cow."], (1,))
    assert r["t2i_r1"] == pytest.approx(2 / 3) and r["t2i_lenient_r1"] == 1.0


def test_logit_scale_is_clamped_at_100_as_open_clip() -> None:
    scale = LogitScale(init=10.0)
    assert float(scale().detach()) == pytest.approx(100.0)  # forward clamps
    scale.clamp_()
    assert float(scale.log_scale.detach()) == pytest.approx(MAX_LOGIT_SCALE)
    scale.log_scale.data.fill_(-3.0)
    assert float(scale().detach()) == pytest.approx(1.0)  # and never below exp(0)
    opt = torch.optim.SGD(scale.parameters(), lr=100.0)
    (-scale()).backward()  # pushes the scale up
    opt.step()
    scale.clamp_()
    assert float(scale().detach()) <= 100.0 + 1e-4
