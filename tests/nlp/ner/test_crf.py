"""The hand-written CRF against brute-force enumeration and against PyPI ``pytorch-crf``."""

from __future__ import annotations

import itertools

import pytest
import torch
from torchcrf import CRF as TorchCRF

from ai_roadmap.nlp.ner.crf import CRF, bio_constraints

pytestmark = [pytest.mark.reference, pytest.mark.usefixtures("one_torch_thread")]
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def crf_pair(k: int, seed: int) -> tuple[CRF, TorchCRF]:
    torch.manual_seed(seed)
    ours = CRF(k).double()
    for p in ours.parameters():
        torch.nn.init.normal_(p, std=1.0)
    ref = TorchCRF(k, batch_first=True).double()
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def all_paths(length: int, k: int) -> list[tuple[int, ...]]:
    return list(itertools.product(range(k), repeat=length))


@pytest.mark.parametrize(("length", "k"), [(1, 3), (3, 3), (4, 4), (5, 3)])
def test_log_partition_and_viterbi_equal_brute_force(length: int, k: int) -> None:
    ours, _ = crf_pair(k, seed=length * 10 + k)
    emissions = torch.randn(1, length, k, dtype=torch.float64)
    scores = torch.stack([ours.path_score(emissions[0], list(p)) for p in all_paths(length, k)])
    mask = torch.ones(1, length, dtype=torch.bool)
    assert torch.allclose(ours.log_partition(emissions, mask)[0], torch.logsumexp(scores, 0))
    best = all_paths(length, k)[int(scores.argmax())]
    assert ours.decode(emissions, constrained=False)[0] == list(best)
    gold = torch.tensor([best])
    assert torch.allclose(ours.gold_score(emissions, gold, mask)[0], scores.max())


def test_constrained_viterbi_is_the_best_valid_bio_path() -> None:
    ours, _ = crf_pair(len(TAGS), seed=3)
    with torch.no_grad():
        ours.start_transitions[2] = 5.0  # tempt the decoder to start with I-PER
        ours.transitions[0, 4] = 5.0  # … and to put I-LOC after O
    allowed, start = bio_constraints(TAGS)
    emissions = torch.randn(1, 4, len(TAGS), dtype=torch.float64)
    valid = [
        p
        for p in all_paths(4, len(TAGS))
        if start[p[0]] and all(allowed[a, b] for a, b in itertools.pairwise(p))
    ]
    scores = torch.stack([ours.path_score(emissions[0], list(p)) for p in valid])
    constrained = CRF(len(TAGS), TAGS).double()
    constrained.load_state_dict(ours.state_dict())
    assert constrained.decode(emissions)[0] == list(valid[int(scores.argmax())])
    assert not start[2] and not allowed[0, 4] and not allowed[1, 4] and allowed[1, 2]


def test_matches_pytorch_crf_on_padded_batches_with_gradients() -> None:
    k = 5
    ours, ref = crf_pair(k, seed=1)
    emissions = torch.randn(4, 7, k, dtype=torch.float64)
    tags = torch.randint(0, k, (4, 7))
    lengths = torch.tensor([7, 5, 1, 3])
    mask = torch.arange(7).unsqueeze(0) < lengths.unsqueeze(1)  # bool, a prefix per row
    e1 = emissions.clone().requires_grad_(True)
    e2 = emissions.clone().requires_grad_(True)
    ll_ours = ours(e1, tags, mask)
    ll_ref = ref(e2, tags, mask, reduction="none")
    torch.testing.assert_close(ll_ours, ll_ref, rtol=1e-10, atol=1e-10)
    (-ll_ours.sum()).backward()
    (-ll_ref.sum()).backward()
    torch.testing.assert_close(e1.grad, e2.grad, rtol=1e-9, atol=1e-10)
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, dict(ref.named_parameters())[name].grad)
    assert ours.decode(emissions, mask, constrained=False) == ref.decode(emissions, mask)
    assert [len(p) for p in ours.decode(emissions, mask)] == lengths.tolist()


def test_padding_does_not_change_a_sequence_score() -> None:
    ours, _ = crf_pair(3, seed=2)
    emissions = torch.randn(1, 6, 3, dtype=torch.float64)
    tags = torch.randint(0, 3, (1, 6))
    mask = torch.tensor([[True] * 4 + [False] * 2])
    padded = ours(emissions, tags, mask)
    changed = emissions.clone()
    changed[0, 4:] = 100.0  # whatever sits in the padding
    assert torch.allclose(ours(changed, tags, mask), padded)
    assert torch.allclose(padded, ours(emissions[:, :4], tags[:, :4]))
