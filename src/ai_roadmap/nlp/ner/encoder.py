"""The s4.mlm encoder fine-tuned for NER, fully and with LoRA, and what LoRA saves in memory.

The BiLSTM-CRF rows of s4.ner learn from scratch; these rows start from the small Chinese
RoBERTa that s4.mlm pretrained (the registry's ``s4.mlm`` champion, or a folder given as
``encoder.source``). Each mode is one call of :func:`ai_roadmap.nlp.finetune.finetune_tagger`
on the same train / dev / test sentences, early-stopped on dev entity F1 by *our* scorer,
and reported as a :class:`~ai_roadmap.nlp.ner.report.ModelReport` beside the BiLSTM-CRFs:

* ``encoder-full`` — every weight trained (AdamW, ``lr_full``);
* ``encoder-lora`` — the encoder frozen, rank-``r`` adapters on ``targets`` and the tagging
  head trained (``lr_lora``, usually ~10× the full rate: far fewer weights move).

Memory. :func:`ai_roadmap.nlp.memory.memory_sweep` trains the same encoder for a few steps in a
fresh process per (batch, length) row, full and LoRA, and reads the peak resident memory
above the loaded model. The saving LoRA gives is a fixed amount (the gradients and AdamW
moments of the frozen weights) while activations grow with batch × length, so the rows show
where the roadmap's −40 % holds and where it stops holding; none is picked to flatter it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.nlp.ner import scorer
from ai_roadmap.nlp.ner.report import ModelReport

MODES = ("full", "lora")


@dataclass(frozen=True)
class EncoderSection:
    """How the pretrained encoder is fine-tuned and measured (``encoder:`` in the config)."""

    source: str = "auto"  # auto (registry s4.mlm if there, else skipped) | registry | none | PATH
    modes: list[str] = field(default_factory=lambda: ["full", "lora"])
    max_train: int = 0  # training sentences (0: all)
    max_dev: int = 0  # dev sentences scored for early stopping (0: all)
    max_len: int = (
        128  # tokens per piece, the two specials included (cut to what the encoder holds)
    )
    batch_size: int = 32
    epochs: int = 3
    patience: int = 2
    lr_full: float = 2e-3
    lr_lora: float = 5e-3
    lora_r: int = 8
    lora_alpha: float = 16.0
    lora_targets: list[str] = field(default_factory=lambda: ["query", "value"])
    memory_rows: list[list[int]] = field(default_factory=lambda: [[8, 64], [8, 128], [32, 128]])
    memory_steps: int = 3
    memory_repeats: int = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(f"encoder.modes must be taken from {', '.join(MODES)}")
        if any(len(row) != 2 or min(row) < 1 for row in self.memory_rows):
            raise ValueError(
                "encoder.memory_rows must be [batch, length] pairs of positive numbers"
            )


@dataclass
class EncoderRows:
    """What the encoder part adds to the run: model rows, memory rows, where it came from."""

    reports: list[ModelReport] = field(default_factory=list)
    memory: list[dict[str, float]] = field(default_factory=list)
    origin: str = ""  # e.g. "registry s4.mlm v3" or the folder
    skipped: str = ""  # why no encoder row was trained, if none was
    details: dict[str, Any] = field(default_factory=dict)


def locate(section: EncoderSection, scratch: Path) -> tuple[Path | None, str]:
    """The encoder folder and a label for it; ``(None, reason)`` when ``auto`` finds none."""
    if section.source == "none" or not section.modes:
        return None, "encoder rows turned off (encoder.source=none)"
    if section.source not in ("auto", "registry"):
        folder = Path(section.source).expanduser()
        if not (folder / "config.json").is_file():
            raise UsageError(
                f"encoder.source {folder} is not a Hugging Face model folder (no config.json): "
                "give the folder s4.mlm saved, or encoder.source=registry"
            )
        return folder, str(folder)
    from ai_roadmap.settings import get_settings
    from ai_roadmap.tracking import champion_model_dir

    try:
        folder, version = champion_model_dir(get_settings(), "s4.mlm", scratch / "s4.mlm")
    except RoadmapError:
        if section.source == "registry":
            raise RoadmapError(
                "encoder.source=registry but no s4.mlm model is registered: "
                "run `roadmap run s4.mlm` first"
            ) from None
        return None, "no s4.mlm encoder in the registry yet (run `roadmap run s4.mlm` to add it)"
    return folder, f"registry s4.mlm v{version}"


def capacity(folder: Path) -> int:
    """Tokens the encoder's position table holds (RoBERTa numbers positions from pad + 1)."""
    import json

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    positions = int(config.get("max_position_embeddings", 512))
    if "roberta" in str(config.get("model_type", "")):
        positions -= int(config.get("pad_token_id") or 0) + 1
    return positions


def _finetune(
    folder: Path, section: EncoderSection, mode: str, data: tuple[list[Any], list[Any], list[Any]]
) -> Any:
    from ai_roadmap.nlp.finetune import FinetuneConfig, finetune_tagger
    from ai_roadmap.nlp.lora import LoRASettings

    cfg = FinetuneConfig(
        mode=mode,
        max_len=min(section.max_len, capacity(folder)),
        batch_size=section.batch_size,
        epochs=section.epochs,
        lr=section.lr_full if mode == "full" else section.lr_lora,
        patience=section.patience,
        lora=LoRASettings(
            r=section.lora_r, alpha=section.lora_alpha, targets=tuple(section.lora_targets)
        ),
        device=section.device,
    )
    train, dev, test = data
    return finetune_tagger(
        folder, train, dev, test, cfg, score_fn=lambda g, p: scorer.score(g, p)["overall"].f1
    )


def encoder_rows(
    section: EncoderSection, train: list[Any], dev: list[Any], test: list[Any], scratch: Path
) -> EncoderRows:
    """Fine-tune the encoder in each mode and sweep memory; ``train``… hold Sentence rows."""
    folder, origin = locate(section, scratch)
    if folder is None:
        return EncoderRows(skipped=origin)
    rows = EncoderRows(origin=origin)
    rows.details["peft"] = peft_agreement(folder, section, [s.text for s in train[:4]])
    train_used = train[: section.max_train or None]
    dev_used = dev[: section.max_dev or None]
    tagged = (
        [(s.text, list(s.labels)) for s in train_used],
        [(s.text, list(s.labels)) for s in dev_used],
        [(s.text, list(s.labels)) for s in test],
    )
    for mode in section.modes:
        result = _finetune(folder, section, mode, tagged)
        max_len = min(section.max_len, capacity(folder))
        dev_predicted, _ = _predict(result, [s.text for s in dev], max_len)
        rows.reports.append(
            ModelReport.of(
                f"encoder-{mode}",
                "encoder",
                ([s.labels for s in dev], [s.labels for s in test]),
                (dev_predicted, result.test_predictions),
                result.total_params,
                result.train_seconds,
                {
                    "trainable_parameters": result.trainable_params,
                    "epochs": float(result.epochs_run),
                    "best_epoch": result.best_epoch,
                    "stopped": "patience" if result.epochs_run < section.epochs else "epochs",
                    "tokens_per_second": result.tokens_per_second,
                    "truncated_train": result.truncated_train,
                    "repaired_tags": result.repaired_tags,
                    "unk_rate": result.unk_rate,
                    "train_sentences": len(train_used),
                    "max_len": max_len,
                },
            )
        )
    rows.memory = _sweep(folder, section)
    return rows


def _predict(result: Any, texts: list[str], max_len: int) -> tuple[list[list[str]], int]:
    """Tags for every dev sentence (early stopping may have scored only a subset)."""
    from ai_roadmap.nlp.tagging import predict_tags

    return predict_tags(result.model, result.tokenizer, texts, max_len)


def _sweep(folder: Path, section: EncoderSection) -> list[dict[str, float]]:
    if not section.memory_rows or "lora" not in section.modes:
        return []
    from ai_roadmap.nlp.lora import LoRASettings
    from ai_roadmap.nlp.memory import memory_sweep, sweep_table

    swept = memory_sweep(
        folder,
        [(b, n) for b, n in section.memory_rows],
        steps=section.memory_steps,
        lora=LoRASettings(
            r=section.lora_r, alpha=section.lora_alpha, targets=tuple(section.lora_targets)
        ),
        repeats=section.memory_repeats,
        device=section.device,
    )
    return sweep_table(swept)


def memory_metrics(memory: list[dict[str, float]]) -> dict[str, float]:
    """``lora_memory_saving_b{batch}_l{length}`` and the peak MB of both modes, per row."""
    metrics: dict[str, float] = {}
    for row in memory:
        key = f"b{int(row['batch'])}_l{int(row['seq_len'])}"
        metrics[f"lora_memory_saving_{key}"] = float(row["saving"])
        metrics[f"full_peak_mb_{key}"] = float(row["full_peak_mb"])
        metrics[f"lora_peak_mb_{key}"] = float(row["lora_peak_mb"])
    return metrics


def memory_note(memory: list[dict[str, float]], bar: float = 0.4) -> str:
    """One line: the saving per row and the rows where the roadmap's −40 % holds."""
    if not memory:
        return "LoRA memory: not measured in this run (encoder rows or memory rows off)"
    cells = ", ".join(
        f"{int(r['batch'])}×{int(r['seq_len'])}: full {r['full_peak_mb']:.0f} MB → LoRA "
        f"{r['lora_peak_mb']:.0f} MB ({100 * r['saving']:.0f} %)"
        for r in memory
    )
    holds = [f"{int(r['batch'])}×{int(r['seq_len'])}" for r in memory if r["saving"] >= bar]
    where = ", ".join(holds) if holds else "no measured row"
    return (
        f"LoRA peak training memory (resident memory above the loaded model, fresh process per "
        f"cell, batch × length): {cells}; the −{100 * bar:.0f} % of the roadmap holds at "
        f"{where}: LoRA removes the frozen weights' gradients and AdamW moments, a fixed "
        "amount, while activations grow with batch × length"
    )


def peft_agreement(folder: Path, section: EncoderSection, texts: list[str]) -> tuple[float, float]:
    """Our LoRA vs PEFT's on this encoder, float64, same non-zero A and B: the largest
    |Δ| of the outputs and of the A/B gradients on a batch of real sentences, each relative
    to the largest magnitude it compares (gradients of a sum of squares can be large, and
    the two libraries add the same terms in a different order)."""
    import copy

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    from ai_roadmap.nlp.lora import LoRALinear, inject_lora

    base = AutoModel.from_pretrained(folder).double().eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    ours = copy.deepcopy(base)
    inject_lora(ours, section.lora_targets, r=section.lora_r, alpha=section.lora_alpha)
    config = LoraConfig(
        r=section.lora_r,
        lora_alpha=cast(Any, section.lora_alpha),  # PEFT types it int; a float scales exactly
        target_modules=list(section.lora_targets),
        lora_dropout=0.0,
    )
    theirs: Any = get_peft_model(copy.deepcopy(base), config)
    generator = torch.Generator().manual_seed(0)
    pairs = []
    for name, layer in ours.named_modules():
        if isinstance(layer, LoRALinear):
            peft_layer = theirs.base_model.model.get_submodule(name)
            with torch.no_grad():
                layer.lora_B.normal_(0.0, 0.1, generator=generator)  # the update must matter
                peft_layer.lora_A["default"].weight.copy_(layer.lora_A)
                peft_layer.lora_B["default"].weight.copy_(layer.lora_B)
            pairs.append((layer, peft_layer))
    out_ours = ours(**batch).last_hidden_state
    out_theirs = theirs(**batch).last_hidden_state
    (out_ours**2).sum().backward()
    (out_theirs**2).sum().backward()

    def relative(a: Any, b: Any) -> float:
        return float((a - b).detach().abs().max() / (b.detach().abs().max() + 1e-300))

    grads = [
        max(
            relative(mine.lora_A.grad, other.lora_A["default"].weight.grad),
            relative(mine.lora_B.grad, other.lora_B["default"].weight.grad),
        )
        for mine, other in pairs
    ]
    return relative(out_ours, out_theirs), max(grads, default=float("nan"))
