"""s4.clip — a CLIP-style dual encoder trained here, scored by image–text retrieval.

``run(cfg)``: pair every Tux Paint stamp with its English (and, where it has one,
Chinese) caption and split by image (:mod:`ai_roadmap.multimodal.clip.pairs`); train
one dual encoder per text tower named in ``towers`` — our hashed character n-gram
tower (English and Chinese) and the frozen MiniLM sentence encoder with a trained
projection (English only) — each with its own image projection on one small CNN trunk
they train together (``share_trunk``), on symmetric InfoNCE with a learned, clamped
temperature (:mod:`ai_roadmap.multimodal.clip.train`);
score Recall@1/5/10 text → image and image → text on the held-out images, English and
Chinese, strict and lenient (:mod:`ai_roadmap.multimodal.clip.recall`), beside chance
and the caption-keyword baseline; run the reference checks; index every stamp's image
embedding with the ``primary`` model and save that model folder for the registry
(``roadmap search`` answers from it; :class:`~ai_roadmap.multimodal.clip.scorer.ClipScorer`).

The target's ``recall_at_5`` is the primary model's **strict** English text → image
Recall@5 on the test images. This is a proxy of the roadmap's CLIP (OpenAI's weights
and 400 M web pairs): clip art and a model trained here, so the verdict stays
*not measured* and the notes say whether the figure clears 0.9.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from ai_roadmap.checks import CheckRecord, record, summarise, write_table
from ai_roadmap.config import typed
from ai_roadmap.errors import UsageError
from ai_roadmap.multimodal.clip import evaluate as ev
from ai_roadmap.multimodal.clip.image_tower import ImageTowerConfig
from ai_roadmap.multimodal.clip.index import ImageIndex, IndexEntry
from ai_roadmap.multimodal.clip.loss import MAX_LOGIT_SCALE, info_nce
from ai_roadmap.multimodal.clip.minilm import MiniLMConfig
from ai_roadmap.multimodal.clip.model import ClipConfig, DualEncoder
from ai_roadmap.multimodal.clip.pairs import (
    Pair,
    PairSplit,
    load_pairs,
    load_pixels,
    split_by_image,
    split_report,
)
from ai_roadmap.multimodal.clip.recall import recall_at_k
from ai_roadmap.multimodal.clip.store import save_clip_model
from ai_roadmap.multimodal.clip.text_tower import HashTextConfig
from ai_roadmap.multimodal.clip.train import (
    TrainConfig,
    TrainReport,
    embed_images,
    share_image_features,
    train_clip,
)
from ai_roadmap.plots import figure
from ai_roadmap.result import Result
from ai_roadmap.training.threads import torch_threads

Tower = Literal["hash", "minilm"]
BAR = 0.9


@dataclass(frozen=True)
class Data:
    """Which stamps, how they are split and how large their pixels are kept."""

    limit: int | None = None  # a seeded random subset of the pairs (smoke); null = all
    test_fraction: float = 0.2
    split_seed: int = 0
    load_scale: float = 1.25  # stamps are kept at this × the tower's side, then cropped


@dataclass(frozen=True)
class Model:
    """Everything of :class:`ClipConfig` but the text tower, which ``towers`` chooses."""

    dim: int = 256
    image: ImageTowerConfig = field(default_factory=ImageTowerConfig)
    hash_text: HashTextConfig = field(default_factory=HashTextConfig)
    minilm: MiniLMConfig = field(default_factory=MiniLMConfig)

    def clip(self, tower: Tower) -> ClipConfig:
        return ClipConfig(self.dim, tower, self.image, self.hash_text, self.minilm)


@dataclass(frozen=True)
class Config:
    """The whole of ``conf/s4.clip``."""

    seed: int = 0
    threads: int = 0  # torch CPU threads (0: torch's default)
    towers: tuple[Tower, ...] = ("hash", "minilm")  # text towers compared
    share_trunk: bool = True  # one convolutional trunk trained by all towers (each its own head)
    primary: Tower = "minilm"  # the model whose figures are the target's and which is saved
    ks: tuple[int, ...] = (1, 5, 10)
    data: Data = field(default_factory=Data)
    model: Model = field(default_factory=Model)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.primary not in self.towers:
            raise UsageError(f"primary={self.primary} must be one of towers={list(self.towers)}")
        if 5 not in self.ks:
            raise UsageError("ks must include 5 (the target is Recall@5)")


@dataclass
class Prepared:
    """Pairs, their split and their pixels."""

    folder: Path
    pairs: list[Pair]
    split: PairSplit
    pixels: torch.Tensor  # (N, 4, S, S) uint8 RGBA of every pair

    def train(self) -> list[Pair]:
        return [self.pairs[i] for i in self.split.train]

    def test(self) -> list[Pair]:
        return [self.pairs[i] for i in self.split.test]


# ── data and training ─────────────────────────────────────────────────────────────────


def prepare(c: Config) -> Prepared:
    folder, pairs = load_pairs(c.data.limit, c.data.split_seed)
    split = split_by_image(len(pairs), c.data.test_fraction, c.data.split_seed)
    side = round(c.model.image.image_size * c.data.load_scale)
    return Prepared(folder, pairs, split, load_pixels(folder, pairs, side))


def train_towers(c: Config, data: Prepared) -> list[TrainReport]:
    """One dual encoder per text tower, all from the same initial image weights.

    With ``share_trunk`` they train together on a shared convolutional trunk (each with
    its own image projection, text tower and temperature): the trunk's cost, nearly all
    of it, is paid once. Otherwise each trains alone on the same batches.
    """
    models = []
    for tower in c.towers:
        torch.manual_seed(c.seed)
        models.append(DualEncoder(c.model.clip(tower)))
    pixels = data.pixels[list(data.split.train)]
    if c.share_trunk:
        share_image_features(models)
        return [train_clip(models, pixels, data.train(), c.train, c.seed)]
    return [train_clip([m], pixels, data.train(), c.train, c.seed) for m in models]


# ── checks ───────────────────────────────────────────────────────────────────────────


def explicit_info_nce(logits: torch.Tensor) -> float:
    """½ [−1/B Σ_i (s_ii − log Σ_j e^{s_ij}) − 1/B Σ_j (s_jj − log Σ_i e^{s_ij})], float64."""
    s = logits.double()
    rows = torch.stack([s[i, i] - torch.logsumexp(s[i, :], 0) for i in range(s.shape[0])])
    cols = torch.stack([s[j, j] - torch.logsumexp(s[:, j], 0) for j in range(s.shape[0])])
    return float(-(rows.mean() + cols.mean()) / 2)


def brute_force_recall(scores: torch.Tensor, k: int) -> float:
    """Fraction of rows whose diagonal item is among the k highest by a full sort."""
    order = scores.argsort(dim=1, descending=True, stable=True)
    return sum(int(i in order[i, :k].tolist()) for i in range(scores.shape[0])) / scores.shape[0]


def run_checks(model: DualEncoder, data: Prepared, ks: tuple[int, ...]) -> list[CheckRecord]:
    """InfoNCE = formula, Recall@K = sort, identity, the clamp, and the split."""
    test = data.test()
    u = embed_images(model, data.pixels[list(data.split.test)])
    with torch.no_grad():
        v = F.normalize(model.encode_texts([p.caption_en for p in test]).float(), dim=-1)
        scale = model.logit_scale()
    logits = scale * u @ v.T
    loss_error = abs(float(info_nce(logits.double())) - explicit_info_nce(logits))
    scores = (v @ u.T).double()
    ours = recall_at_k(scores, torch.eye(len(test), dtype=torch.bool), ks)
    sort_error = max(abs(ours[k] - brute_force_recall(scores, k)) for k in ks)
    same = u @ u.T  # the image tower fed the same images twice
    twins = int(((same > 1 - 1e-6).sum(1) > 1).sum())
    identity = recall_at_k(same, torch.eye(len(test), dtype=torch.bool), (1,))[1]
    leaked = {data.pairs[i].id for i in data.split.test} & {
        data.pairs[i].id for i in data.split.train
    }
    return [
        record("info_nce_vs_formula", loss_error, 1e-9, f"test logits, B = {len(test)}, float64"),
        record("recall_vs_sorting", sort_error, 1e-12, f"text → image, K = {list(ks)}"),
        record("identity_recall_at_1", 1 - identity, twins / len(test), f"{twins} twin images"),
        record("logit_scale_clamped", max(0.0, float(scale) - math.exp(MAX_LOGIT_SCALE)), 1e-4),
        record("split_by_image", float(len(leaked)), 0.0, "test stamps also in training"),
    ]


# ── figures, index, notes ────────────────────────────────────────────────────────────


def tower_metrics(
    c: Config, model: DualEncoder, report: TrainReport, data: Prepared
) -> dict[str, float]:
    """``{tower}_{lang}_{direction}_r{K}`` and the tower's training figures."""
    tower = model.cfg.text_tower
    pixels = data.pixels[list(data.split.test)]
    recalls = ev.model_recalls(model, pixels, data.test(), c.ks)
    params = sum(p.numel() for p in model.parameters())
    return {f"{tower}_{k}": v for k, v in recalls.items()} | {
        f"{tower}_train_seconds": report.seconds,
        f"{tower}_images_per_second": report.images_per_second,
        f"{tower}_logit_scale": report.history[-1][f"logit_scale_{tower}"],
        f"{tower}_final_loss": report.history[-1][f"loss_{tower}"],
        f"{tower}_parameters": float(params),
    }


def headline(c: Config, metrics: dict[str, float]) -> dict[str, float]:
    """The target's figures: the primary model's strict English text → image Recall@K."""
    return {f"recall_at_{k}": metrics[f"{c.primary}_en_t2i_r{k}"] for k in c.ks}


def build_index(model: DualEncoder, data: Prepared) -> ImageIndex:
    """Every stamp's image embedding (train and test), for ``roadmap search``."""
    test = set(data.split.test)
    entries = [
        IndexEntry(
            p.id, p.file, p.category, p.caption_en, p.caption_zh, "test" if i in test else "train"
        )
        for i, p in enumerate(data.pairs)
    ]
    return ImageIndex("tuxpaint-stamps", entries, embed_images(model, data.pixels))


def plot_losses(reports: list[TrainReport], path: Path) -> Path:
    with figure(path) as (_, ax):
        for r in reports:
            epochs = [h["epoch"] for h in r.history]
            for m in r.models:
                name = m.cfg.text_tower
                ax.plot(epochs, [h[f"loss_{name}"] for h in r.history], label=f"text tower: {name}")
        ax.set(xlabel="epoch", ylabel="symmetric InfoNCE (augmented batches)", title="s4.clip")
        ax.legend()
    return path


def _row(m: dict[str, float], prefix: str, lang: str, ks: tuple[int, ...]) -> str:
    parts = [
        f"{d} " + "/".join(f"{m[f'{prefix}{lang}_{d}_r{k}']:.3f}" for k in ks)
        for d in ("t2i", "i2t")
        if f"{prefix}{lang}_{d}_r{ks[0]}" in m
    ]
    return ", ".join(parts)


def notes(c: Config, m: dict[str, float]) -> list[str]:
    ks = "/".join(f"R@{k}" for k in c.ks)
    out = [
        "proxy: a dual encoder trained here on Tux Paint clip art (not OpenAI CLIP, not its "
        f"400 M web pairs); recall_at_5 = {m['recall_at_5']:.3f} "
        f"{'clears' if m['recall_at_5'] > BAR else 'misses'} the roadmap's > {BAR} on this proxy",
        f"split by image (seed {c.data.split_seed}): {m['train_images']:.0f} train / "
        f"{m['test_images']:.0f} test images; gallery = the {m['gallery_images']:.0f} test images "
        f"(text → image), {m['chance_en_queries']:.0f} English and "
        f"{m['chance_zh_queries']:.0f} Chinese captions (image → text)",
        f"recall_at_K = the {c.primary} model's strict English text → image Recall@K (hit = the "
        "paired image only); *_lenient_* also counts any image whose caption is the same string",
        f"{m['test_en_captions_seen_in_train']:.0f} test English captions also caption a "
        "training image (e.g. 'A frog.' names two stamps)",
    ]
    for name, prefix in (
        *((f"text tower {t}", f"{t}_") for t in c.towers),
        ("caption-keyword baseline", "baseline_"),
        ("chance (K/N)", "chance_"),
    ):
        for lang in ev.LANGUAGES:
            row = _row(m, prefix, lang, c.ks)
            if row:
                out.append(f"{name}, {lang} ({ks}): {row}")
    if "minilm" in c.towers:
        out.append("MiniLM was trained on English only; its Chinese figures are for comparison")
    return out


# ── the milestone ────────────────────────────────────────────────────────────────────


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    with torch_threads(c.threads):
        return _run(c, Path(cfg.output_dir))


def _run(c: Config, out: Path) -> Result:
    out.mkdir(parents=True, exist_ok=True)
    data = prepare(c)
    reports = train_towers(c, data)
    trained = {m.cfg.text_tower: (m, r) for r in reports for m in r.models}
    metrics = split_report(data.pairs, data.split)
    for model, report in trained.values():
        metrics |= tower_metrics(c, model, report, data)
    test, train = data.test(), data.train()
    metrics |= {f"baseline_{k}": v for k, v in ev.baseline_recalls(test, train, c.ks).items()}
    metrics |= {f"chance_{k}": v for k, v in ev.chance_recalls(test, c.ks).items()}
    metrics["gallery_images"] = float(len(test))
    metrics |= headline(c, metrics)
    primary = trained[c.primary][0].cpu()
    records = run_checks(primary, data, c.ks)
    check_metrics, check_notes = summarise(records)
    metrics |= check_metrics
    histories = out / "histories.json"
    histories.write_text(json.dumps([r.history for r in reports], indent=2))
    artifacts = {
        "checks.csv": write_table(records, out / "checks.csv"),
        "histories.json": histories,
        "losses.png": plot_losses(reports, out / "losses.png"),
    }
    card = {k: v for k, v in metrics.items() if k.startswith(("recall_at", f"{c.primary}_"))}
    model_path = save_clip_model(primary, out / "model", card, build_index(primary, data))
    return Result(
        metrics=metrics,
        dataset=f"tuxpaint-stamps: {len(data.pairs)} captioned stamps (proxy for CLIP's data)",
        proxy=True,
        artifacts=artifacts,
        model_path=model_path,
        params={"primary": c.primary, "towers": list(c.towers), "indexed_images": len(data.pairs)},
        notes=notes(c, metrics) + check_notes,
    )
