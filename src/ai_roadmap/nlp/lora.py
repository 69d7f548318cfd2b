"""LoRA by hand: a low-rank update beside a frozen linear layer (Hu et al., 2021).

A frozen ``nn.Linear`` computes ``y = W x + b``. LoRA learns a rank-``r`` correction

    y = W x + b + (α / r) · B A dropout(x),    A ∈ R^{r×in},  B ∈ R^{out×r}

with ``A`` initialised Kaiming-uniform (``a = √5``, as ``nn.Linear`` and PEFT do) and ``B``
zero, so the wrapped model starts exactly equal to the base model. Only ``A`` and ``B`` train:
``r · (in + out)`` parameters per layer instead of ``in · out``, and the optimizer keeps its
moments for those alone. After training the update folds back into the weight,
``W ← W + (α / r) B A`` (``merge``), so inference costs nothing extra.

``inject_lora`` swaps named ``nn.Linear`` modules of any model for ``LoRALinear`` and freezes
everything else except the parameters the caller names (a classifier head, say). Module
names match as PEFT's ``target_modules`` list does: the full dotted name, or its last parts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ai_roadmap.errors import UsageError


@dataclass(frozen=True)
class LoRASettings:
    """Which linear layers get adapters, their rank r, scale α and input dropout."""

    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.0
    targets: tuple[str, ...] = ("query", "value")

    def __post_init__(self) -> None:
        if self.r < 1 or not self.targets:
            raise UsageError("LoRA needs r ≥ 1 and at least one target module name")


class LoRALinear(nn.Module):
    """``W x + b + (α/r) · B A dropout(x)`` around a frozen ``nn.Linear`` (``base``)."""

    def __init__(self, base: nn.Linear, r: int, alpha: float, dropout: float = 0.0) -> None:
        if r < 1:
            raise UsageError(f"LoRA rank r must be ≥ 1, got {r}; pick e.g. r=8")
        if not 0.0 <= dropout < 1.0:
            raise UsageError(f"LoRA dropout must be in [0, 1), got {dropout}")
        super().__init__()
        self.base = base
        self.base.requires_grad_(False)
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        device, dtype = base.weight.device, base.weight.dtype
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, device=device, dtype=dtype))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, device=device, dtype=dtype))
        # PEFT's default: A like nn.Linear's own init (fan_in = in_features), B zero.
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.merged = False

    def delta_weight(self) -> Tensor:
        """``(α/r) · B A``, shape (out, in): what ``merge`` adds to the frozen weight."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: Tensor) -> Tensor:
        out = self.base(x)
        if self.merged:
            return out
        # (…, in) -> (…, r) -> (…, out): never forms the (out, in) product while training
        low_rank = self.dropout(x) @ self.lora_A.t()
        # out + scaling · (…) in one op: no extra (…, out) temporary for the scaled update
        return torch.add(out, low_rank @ self.lora_B.t(), alpha=self.scaling)

    def merge(self) -> None:
        """Fold the update into the frozen weight, ``W ← W + (α/r) B A``: forward is ``W x + b``."""
        if not self.merged:
            with torch.no_grad():
                self.base.weight += self.delta_weight()
            self.merged = True

    def unmerge(self) -> None:
        """Take the update back out of the weight (``W ← W − (α/r) B A``) to train on."""
        if self.merged:
            with torch.no_grad():
                self.base.weight -= self.delta_weight()
            self.merged = False

    def extra_repr(self) -> str:
        return f"r={self.r}, alpha={self.alpha}, merged={self.merged}"


def _matches(name: str, targets: Sequence[str]) -> bool:
    """PEFT's rule for a list of targets: the whole dotted name, or its tail after a dot."""
    return any(name == t or name.endswith("." + t) for t in targets)


def inject_lora(
    model: nn.Module,
    target_names: Sequence[str],
    r: int,
    alpha: float,
    dropout: float = 0.0,
    trainable: Sequence[str] = (),
) -> list[str]:
    """Swap every ``nn.Linear`` named by ``target_names`` for a ``LoRALinear``, in place.

    Afterwards only the LoRA ``A``/``B`` matrices train, plus every parameter whose dotted
    name contains one of ``trainable`` (e.g. ``("classifier",)`` keeps a new head learning).
    Returns the names of the wrapped modules; raises ``UsageError`` if none matched.
    """
    found = [
        (name, module)
        for name, module in model.named_modules()
        if _matches(name, target_names) and isinstance(module, nn.Linear)
    ]
    if not found:
        raise UsageError(
            f"no nn.Linear module matches {list(target_names)}; "
            "name the attention projections as the model calls them (e.g. 'query', 'value')"
        )
    for param in model.parameters():
        param.requires_grad_(False)
    for name, module in found:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, LoRALinear(module, r, alpha, dropout))
    for name, param in model.named_parameters():
        if any(keep in name for keep in trainable):
            param.requires_grad_(True)
    return [name for name, _ in found]


def lora_layers(model: nn.Module) -> list[LoRALinear]:
    """Every ``LoRALinear`` inside ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, LoRALinear)]


def merge_lora(model: nn.Module) -> None:
    """``merge()`` every LoRA layer of ``model`` (inference at the base model's cost)."""
    for layer in lora_layers(model):
        layer.merge()


def unmerge_lora(model: nn.Module) -> None:
    """``unmerge()`` every LoRA layer of ``model``."""
    for layer in lora_layers(model):
        layer.unmerge()


def unload_lora(model: nn.Module) -> nn.Module:
    """Merge every LoRA layer and put its plain ``nn.Linear`` back (PEFT's ``merge_and_unload``).

    The result has the base model's module tree again, so ``save_pretrained`` writes a
    folder that ``from_pretrained`` reads without LoRA. Works in place; returns ``model``.
    """
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name, layer in found:
        layer.merge()
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, layer.base)
    return model


def trainable_parameters(model: nn.Module) -> int:
    """How many parameter elements will receive gradients (``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def total_parameters(model: nn.Module) -> int:
    """Every parameter element of ``model``, frozen or not (LoRA's ``A``/``B`` included)."""
    return sum(p.numel() for p in model.parameters())
