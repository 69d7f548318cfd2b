"""LoRA by hand against PEFT on the same tiny RoBERTa, in float64."""

from __future__ import annotations

import copy
import os

import pytest
import torch

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.lora import (
    LoRALinear,
    inject_lora,
    lora_layers,
    merge_lora,
    total_parameters,
    trainable_parameters,
    unload_lora,
    unmerge_lora,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

R, ALPHA = 4, 8.0
TARGETS = ["query", "value"]


def _tiny_config():  # type: ignore[no-untyped-def]
    from transformers import RobertaConfig

    return RobertaConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=40,
        num_labels=5,
    )


def _tiny_roberta() -> torch.nn.Module:
    from transformers import RobertaModel

    torch.manual_seed(0)
    return RobertaModel(_tiny_config()).double().eval()


def _ours_and_peft(base: torch.nn.Module, trainable: tuple[str, ...] = (), task: str | None = None):  # type: ignore[no-untyped-def]
    """Our LoRA and PEFT's on two copies of ``base``, with the same non-zero A and B."""
    from peft import LoraConfig, get_peft_model

    ours = copy.deepcopy(base)
    inject_lora(ours, TARGETS, r=R, alpha=ALPHA, dropout=0.0, trainable=trainable)
    config = LoraConfig(
        r=R, lora_alpha=ALPHA, target_modules=TARGETS, lora_dropout=0.0, task_type=task
    )
    theirs = get_peft_model(copy.deepcopy(base), config)
    generator = torch.Generator().manual_seed(1)
    for name, layer in ours.named_modules():
        if not isinstance(layer, LoRALinear):
            continue
        with torch.no_grad():
            layer.lora_B.normal_(0.0, 0.5, generator=generator)  # non-zero: the update matters
        peft_layer = theirs.base_model.model.get_submodule(name)
        with torch.no_grad():
            peft_layer.lora_A["default"].weight.copy_(layer.lora_A)
            peft_layer.lora_B["default"].weight.copy_(layer.lora_B)
    return ours, theirs


def _inputs() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    ids = torch.randint(3, 50, (3, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0  # one padded row, so the attention mask takes part
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.reference
def test_outputs_and_gradients_match_peft() -> None:
    base = _tiny_roberta()
    ours, theirs = _ours_and_peft(base)
    inputs = _inputs()
    weights = torch.randn(3, 9, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out_ours = ours(**inputs).last_hidden_state
    out_theirs = theirs(**inputs).last_hidden_state
    torch.testing.assert_close(out_ours, out_theirs, rtol=1e-12, atol=1e-12)
    # the update really moved the output away from the base model's
    assert (out_ours - base(**inputs).last_hidden_state).abs().max() > 1e-3
    (out_ours * weights).sum().backward()
    (out_theirs * weights).sum().backward()
    checked = 0
    for name, layer in ours.named_modules():
        if isinstance(layer, LoRALinear):
            peft_layer = theirs.base_model.model.get_submodule(name)
            assert layer.lora_A.grad is not None and layer.lora_A.grad.abs().max() > 0
            grad_a = peft_layer.lora_A["default"].weight.grad
            grad_b = peft_layer.lora_B["default"].weight.grad
            torch.testing.assert_close(layer.lora_A.grad, grad_a, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(layer.lora_B.grad, grad_b, rtol=1e-10, atol=1e-12)
            checked += 1
    assert checked == 2 * len(TARGETS)  # 2 layers × (query, value)


@pytest.mark.reference
def test_merged_weights_equal_peft_merge_and_unload() -> None:
    base = _tiny_roberta()
    ours, theirs = _ours_and_peft(base)
    inputs = _inputs()
    before = ours(**inputs).last_hidden_state.detach()
    merge_lora(ours)
    torch.testing.assert_close(ours(**inputs).last_hidden_state, before, rtol=1e-12, atol=1e-12)
    unmerge_lora(ours)
    for layer in lora_layers(ours):
        assert not layer.merged
    torch.testing.assert_close(
        ours.get_submodule("encoder.layer.0.attention.self.query.base").weight,
        base.get_submodule("encoder.layer.0.attention.self.query").weight,
        rtol=1e-12,
        atol=1e-12,
    )
    unloaded = unload_lora(ours).state_dict()
    reference = theirs.merge_and_unload().state_dict()
    assert unloaded.keys() == reference.keys() == base.state_dict().keys()
    for key, value in reference.items():
        torch.testing.assert_close(unloaded[key], value, rtol=1e-12, atol=1e-12)
    changed = unloaded["encoder.layer.1.attention.self.value.weight"]
    assert not torch.allclose(
        changed, base.state_dict()["encoder.layer.1.attention.self.value.weight"]
    )


@pytest.mark.reference
def test_trainable_counts_equal_peft() -> None:
    ours, theirs = _ours_and_peft(_tiny_roberta())
    expected = 2 * 2 * R * (16 + 16)  # layers × (query, value) × r (in + out)
    assert trainable_parameters(ours) == expected
    assert trainable_parameters(theirs) == expected
    assert total_parameters(ours) == total_parameters(theirs)


@pytest.mark.reference
def test_head_stays_trainable_as_with_peft_token_classification() -> None:
    from transformers import RobertaForTokenClassification

    torch.manual_seed(0)
    model = RobertaForTokenClassification(_tiny_config()).double()
    ours, theirs = _ours_and_peft(model, trainable=("classifier",), task="TOKEN_CLS")
    head = 16 * 5 + 5
    assert trainable_parameters(ours) == 2 * 2 * R * 32 + head
    assert trainable_parameters(ours) == trainable_parameters(theirs)
    frozen = [n for n, p in ours.named_parameters() if not p.requires_grad]
    assert "roberta.embeddings.word_embeddings.weight" in frozen
    assert "roberta.encoder.layer.0.attention.self.query.base.weight" in frozen


def test_starts_equal_to_the_base_layer() -> None:
    torch.manual_seed(0)
    base = torch.nn.Linear(6, 3)
    layer = LoRALinear(copy.deepcopy(base), r=2, alpha=4.0, dropout=0.1)
    x = torch.randn(4, 6)
    layer.eval()
    torch.testing.assert_close(layer(x), base(x))
    assert layer.lora_A.abs().max() > 0  # A random, B zero
    assert layer.lora_B.abs().max() == 0
    assert not layer.base.weight.requires_grad


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"no nn\.Linear module matches"):
        inject_lora(_tiny_roberta(), ["q_proj"], r=2, alpha=4.0)
    with pytest.raises(UsageError, match="rank"):
        LoRALinear(torch.nn.Linear(2, 2), r=0, alpha=1.0)


@pytest.mark.reference
def test_dropout_on_the_adapter_input_matches_peft_in_training_mode() -> None:
    from peft import LoraConfig, get_peft_model

    base = _tiny_roberta()
    ours = copy.deepcopy(base)
    inject_lora(ours, TARGETS, r=R, alpha=ALPHA, dropout=0.3)
    config = LoraConfig(r=R, lora_alpha=ALPHA, target_modules=TARGETS, lora_dropout=0.3)
    theirs = get_peft_model(copy.deepcopy(base), config)
    for name, layer in ours.named_modules():
        if isinstance(layer, LoRALinear):
            with torch.no_grad():
                layer.lora_B.fill_(0.2)
                peft_layer = theirs.base_model.model.get_submodule(name)
                peft_layer.lora_A["default"].weight.copy_(layer.lora_A)
                peft_layer.lora_B["default"].weight.copy_(layer.lora_B)
    ours.train()
    theirs.train()
    torch.manual_seed(5)  # the same random masks, drawn in the same order
    out_ours = ours(**_inputs()).last_hidden_state
    torch.manual_seed(5)
    out_theirs = theirs(**_inputs()).last_hidden_state
    torch.testing.assert_close(out_ours, out_theirs, rtol=1e-12, atol=1e-12)
    torch.manual_seed(6)
    assert not torch.allclose(ours(**_inputs()).last_hidden_state, out_ours)  # dropout is on
