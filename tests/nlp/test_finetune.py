"""Fine-tuning a tiny encoder folder on a synthetic tagging task: full and LoRA both learn it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from seqeval.metrics import f1_score

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.finetune import FinetuneConfig, FinetuneResult, finetune_tagger, save_tagger
from ai_roadmap.nlp.lora import LoRASettings
from ai_roadmap.nlp.tagging import label_set, predict_tags, repair_bio
from tiny_hf_encoder import save_tiny_encoder

LETTERS, DIGITS = "abcdefgh", "0123456789"


def _sentence(rng: random.Random) -> tuple[str, list[str]]:
    """Letters are O; each run of digits is one NUM entity (B-NUM then I-NUM)."""
    text, tags = "", []
    while len(text) < rng.randint(6, 16):
        if rng.random() < 0.35:
            run = "".join(rng.choice(DIGITS) for _ in range(rng.randint(1, 4)))
            text, tags = text + run + "a", [*tags, "B-NUM"] + ["I-NUM"] * (len(run) - 1) + ["O"]
        else:
            text, tags = text + rng.choice(LETTERS), [*tags, "O"]
    return text, tags


def _split(n: int, seed: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    return [_sentence(rng) for _ in range(n)]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tmp_path_factory.mktemp("enc") / "encoder", LETTERS + DIGITS)


@pytest.fixture(scope="module")
def data() -> dict[str, list[tuple[str, list[str]]]]:
    return {"train": _split(400, 1), "dev": _split(80, 2), "test": _split(120, 3)}


def _f1(data: list[tuple[str, list[str]]], predicted: list[list[str]]) -> float:
    return float(f1_score([tags for _, tags in data], predicted))


def _seqeval_score(gold: list[list[str]], predicted: list[list[str]]) -> float:
    return float(f1_score(gold, predicted))


FULL = FinetuneConfig(mode="full", lr=3e-3, epochs=6, batch_size=16, max_len=24)
LORA = FinetuneConfig(
    mode="lora", lr=2e-2, epochs=6, batch_size=16, max_len=24, lora=LoRASettings(r=8, alpha=16)
)


@pytest.fixture(scope="module")
def full_run(
    encoder: Path, data: dict[str, list[tuple[str, list[str]]]], one_torch_thread: None
) -> FinetuneResult:
    return finetune_tagger(encoder, data["train"], data["dev"], data["test"], FULL)


@pytest.fixture(scope="module")
def lora_run(
    encoder: Path, data: dict[str, list[tuple[str, list[str]]]], one_torch_thread: None
) -> FinetuneResult:
    return finetune_tagger(
        encoder, data["train"], data["dev"], data["test"], LORA, score_fn=_seqeval_score
    )


def test_label_set_and_bio_repair() -> None:
    assert label_set([("a1", ["O", "B-NUM"]), ("x", ["B-LOC"])]) == [
        "O", "B-LOC", "I-LOC", "B-NUM", "I-NUM",
    ]  # fmt: skip
    tags, repairs = repair_bio(["I-PER", "I-PER", "O", "B-LOC", "I-PER", "I-PER"])
    assert tags == ["B-PER", "I-PER", "O", "B-LOC", "B-PER", "I-PER"]
    assert repairs == 2


@pytest.mark.slow
def test_full_fine_tuning_learns_the_task(
    full_run: FinetuneResult, data: dict[str, list[tuple[str, list[str]]]]
) -> None:
    majority = _f1(data["test"], [["O"] * len(text) for text, _ in data["test"]])
    assert majority == 0.0  # all-O finds no entity
    assert _f1(data["test"], full_run.test_predictions) > 0.85
    assert _f1(data["dev"], full_run.dev_predictions) > 0.85
    assert full_run.trainable_params == full_run.total_params
    assert full_run.train_losses[-1] < full_run.train_losses[0]
    assert full_run.tokens_per_second > 0 and full_run.train_seconds > 0
    assert 1 <= full_run.best_epoch <= full_run.epochs_run <= FULL.epochs


@pytest.mark.slow
def test_lora_learns_with_far_fewer_parameters_and_frozen_weights(
    lora_run: FinetuneResult,
    full_run: FinetuneResult,
    encoder: Path,
    data: dict[str, list[tuple[str, list[str]]]],
) -> None:
    assert _f1(data["test"], lora_run.test_predictions) > 0.7
    assert lora_run.trainable_params * 10 < full_run.trainable_params
    # the dev score kept per epoch is seqeval's F1 of the predictions made then
    assert max(lora_run.dev_scores) == lora_run.dev_scores[lora_run.best_epoch - 1]
    from transformers import AutoModel

    original = AutoModel.from_pretrained(encoder).state_dict()
    trained = lora_run.model.state_dict()
    compared = 0
    for key, value in original.items():
        ours = f"roberta.{key}"
        if ours.endswith((".query.weight", ".value.weight", ".query.bias", ".value.bias")):
            ours = ours.rsplit(".", 1)[0] + ".base." + ours.rsplit(".", 1)[1]
        if ours in trained:
            assert torch.equal(trained[ours], value), key
            compared += 1
    assert compared >= len(original) - 2  # every encoder weight but the unused pooler


def test_predictions_align_with_characters_and_long_texts_are_tagged_in_pieces(
    full_run: FinetuneResult, data: dict[str, list[tuple[str, list[str]]]]
) -> None:
    for (text, _), tags in zip(data["test"], full_run.test_predictions, strict=True):
        assert len(tags) == len(text)
    long_text = "bc12a" * 9 + "zz9"  # 48 characters > max_len 24; z is not in the vocabulary
    (tags,), _ = predict_tags(full_run.model, full_run.tokenizer, [long_text], max_len=24)
    assert len(tags) == len(long_text)
    # tagged in pieces of max_len − 2 characters, each as if it stood alone (then BIO-repaired)
    pieces, _ = predict_tags(
        full_run.model, full_run.tokenizer, [long_text[:22], long_text[22:44], long_text[44:]], 24
    )
    assert tags == repair_bio([tag for piece in pieces for tag in piece])[0]
    assert all(tag in full_run.labels for tag in tags)


def test_truncation_and_unknown_characters_are_counted(
    encoder: Path, one_torch_thread: None
) -> None:
    train = [("a1b2" * 10, ["O", "B-NUM"] * 20), ("ab", ["O", "O"]), ("zz", ["O", "O"])]
    cfg = FinetuneConfig(epochs=1, max_len=10, batch_size=2)
    run = finetune_tagger(encoder, train, train[1:], train, cfg)
    again = finetune_tagger(encoder, train, train[1:], train, cfg)
    assert run.test_predictions == again.test_predictions  # seeded
    assert run.train_losses == again.train_losses
    assert run.truncated_train == 1
    assert run.unk_rate == pytest.approx(2 / 44)
    assert run.chunked_eval == 1  # the 40-character test sentence
    assert [len(t) for t in run.test_predictions] == [40, 2, 2]


def test_saved_tagger_loads_without_lora(
    lora_run: FinetuneResult, data: dict[str, list[tuple[str, list[str]]]], tmp_path: Path
) -> None:
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    folder = save_tagger(lora_run.model, lora_run.tokenizer, tmp_path / "tagger")
    model = AutoModelForTokenClassification.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    texts = [text for text, _ in data["test"]]
    again, _ = predict_tags(model, tokenizer, texts, max_len=24)
    assert again == lora_run.test_predictions
    assert any(n.endswith("lora_A") for n, _ in lora_run.model.named_parameters())


def test_bad_input_is_a_usage_error(encoder: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="characters but"):
        finetune_tagger(encoder, [("ab", ["O"])], [("ab", ["O", "O"])], [])
    with pytest.raises(UsageError, match=r"no config\.json"):
        finetune_tagger(tmp_path, [("ab", ["O", "O"])], [("ab", ["O", "O"])], [])
    with pytest.raises(UsageError, match="mode"):
        FinetuneConfig(mode="adapter")
    # the tiny encoder has 66 positions, RoBERTa numbers them from pad + 1 = 2: 64 tokens fit
    with pytest.raises(UsageError, match="holds 64 tokens"):
        finetune_tagger(
            encoder, [("ab", ["O", "O"])], [("ab", ["O", "O"])], [], FinetuneConfig(max_len=65)
        )
