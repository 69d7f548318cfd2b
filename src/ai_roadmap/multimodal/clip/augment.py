"""Augmentation for both sides: stamps pasted on varied backgrounds, captions in templates.

Images. A stamp has an alpha channel, so each draw pastes it on a background — white
with probability ``white``, else one random colour — after a random resized crop
(area fraction in ``crop_scale``, aspect ratio log-uniform in ``ratio``; one
``affine_grid`` sample per image, on premultiplied RGBA so edges do not bleed), a
horizontal flip (never for categories in ``no_flip``: a flipped "b" is a "d") and a
brightness / contrast / saturation jitter of ± ``jitter``. Hue is left alone: "a red
apple" must stay red. At evaluation a stamp is simply pasted on white, uncropped.

Captions. Each pair offers a few wordings of its caption (CLIP's prompt templates,
"a picture of …"; for Chinese "一张…的图片") and one with its category's words
("a frog (animals, amphibians)"); training draws one at random each time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ai_roadmap.multimodal.clip.pairs import Pair

EN_TEMPLATES = ("{}", "a picture of {}", "a drawing of {}", "clip art of {}")
ZH_TEMPLATES = ("{}", "一张{}的图片", "{}的画")


@dataclass(frozen=True)
class ImageAugment:
    """How training images are drawn (fractions are probabilities or ± ranges)."""

    crop_scale: tuple[float, float] = (0.6, 1.0)
    ratio: tuple[float, float] = (0.8, 1.25)
    flip: float = 0.5
    no_flip: tuple[str, ...] = ("symbols", "town/roadsigns")  # category prefixes
    white: float = 0.5
    jitter: float = 0.2


def to_float(rgba: torch.Tensor) -> torch.Tensor:
    """uint8 RGBA → float premultiplied RGBA in [0, 1]."""
    x = rgba.float() / 255.0
    return torch.cat([x[:, :3] * x[:, 3:], x[:, 3:]], dim=1)


def paste(premultiplied: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """RGB = premultiplied RGB + background · (1 − α); background (B, 3, 1, 1)."""
    return premultiplied[:, :3] + background * (1 - premultiplied[:, 3:])


def on_white(rgba: torch.Tensor, size: int) -> torch.Tensor:
    """Evaluation view: the whole stamp on white, resized to ``size`` (B, 3, size, size)."""
    x = to_float(rgba)
    if x.shape[-1] != size:
        x = F.interpolate(
            x, size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )
    return paste(x, torch.ones(x.shape[0], 3, 1, 1)).clamp(0, 1)


def crop_grid(n: int, cfg: ImageAugment, flips: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """(n, 2, 3) affine matrices: a random crop window in normalised coordinates, maybe flipped."""
    area = torch.empty(n).uniform_(*cfg.crop_scale, generator=g)
    log_r = torch.empty(n).uniform_(math.log(cfg.ratio[0]), math.log(cfg.ratio[1]), generator=g)
    w = (area * log_r.exp()).sqrt().clamp(max=1.0)
    h = (area / log_r.exp()).sqrt().clamp(max=1.0)
    cx = (torch.rand(n, generator=g) * 2 - 1) * (1 - w)
    cy = (torch.rand(n, generator=g) * 2 - 1) * (1 - h)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = torch.where(flips, -w, w)
    theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = cx, h, cy
    return theta


def jitter(rgb: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    """Brightness, contrast and saturation factors in [1 − amount, 1 + amount] per image."""
    n = rgb.shape[0]
    b, c, s = (1 + (torch.rand(3, n, 1, 1, 1, generator=g) * 2 - 1) * amount).unbind(0)
    rgb = rgb * b
    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb = (rgb - mean) * c + mean
    gray = (rgb * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return (gray + (rgb - gray) * s).clamp(0, 1)


def augment_images(
    rgba: torch.Tensor, may_flip: torch.Tensor, size: int, cfg: ImageAugment, g: torch.Generator
) -> torch.Tensor:
    """uint8 RGBA (B, 4, S, S) → augmented RGB (B, 3, size, size) in [0, 1]."""
    n = rgba.shape[0]
    x = to_float(rgba)
    flips = (torch.rand(n, generator=g) < cfg.flip) & may_flip
    grid = F.affine_grid(crop_grid(n, cfg, flips, g), [n, 4, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    colour = torch.rand(n, 3, 1, 1, generator=g)
    white = (torch.rand(n, 1, 1, 1, generator=g) < cfg.white).float()
    background = white + (1 - white) * colour
    return jitter(paste(x, background), cfg.jitter, g)


def flippable(pairs: list[Pair], cfg: ImageAugment) -> torch.Tensor:
    """(N,) bool: may this stamp be mirrored?"""
    return torch.tensor([not p.category.startswith(cfg.no_flip) for p in pairs])


def core(caption: str) -> str:
    """The caption as a noun phrase: end punctuation dropped, a leading capital lowered
    ("A frog." → "a frog", "Rook." → "rook"; "USA" and "The letter B" keep their capitals)."""
    text = caption.strip().rstrip(".!?。！？")
    first = text.split(" ", 1)[0]
    if first in ("A", "An", "The") or text[1:2].islower():
        return text[:1].lower() + text[1:]
    return text


def category_words(category: str) -> str:
    """``animals/mammals/bovines`` → ``animals, mammals, bovines``."""
    return ", ".join(w.replace("_", " ") for w in category.split("/") if w != "cartoon")


def caption_variants(pair: Pair, lang: str) -> list[str]:
    """The wordings training draws from: the caption, its templates, one with category words."""
    if lang == "zh":
        if not pair.caption_zh:
            return []
        phrase = pair.caption_zh.rstrip("。！？.!?")
        return [pair.caption_zh] + [t.format(phrase) for t in ZH_TEMPLATES[1:]]
    phrase = core(pair.caption_en)
    variants = [pair.caption_en] + [t.format(phrase) for t in EN_TEMPLATES[1:]]
    return [*variants, f"{phrase} ({category_words(pair.category)})"]
