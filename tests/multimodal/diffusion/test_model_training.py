"""The class-conditioned U-Net, its [V] slot, the two training objectives and sampling."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ai_roadmap.multimodal.diffusion.sample import Sampler, generate, save_grid
from ai_roadmap.multimodal.diffusion.train import Optim, Schedule, train_base, train_dreambooth
from ai_roadmap.multimodal.diffusion.unet import ClassConditionalUNet, UNetConfig

TINY = UNetConfig(size=8, channels=[8, 16], attention_levels=[1], classes=2, extra_slots=1)


@pytest.fixture(scope="module")
def tiny() -> ClassConditionalUNet:
    torch.manual_seed(0)
    return ClassConditionalUNet(TINY)


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="multiple of norm_groups"):
        UNetConfig(channels=[12, 16])
    with pytest.raises(ValueError, match="must halve"):
        UNetConfig(size=30, channels=[8, 16, 32])


def test_class_label_changes_the_prediction_and_slot_copies_it() -> None:
    model = ClassConditionalUNet(TINY).eval()
    with torch.no_grad():
        model.class_table.weight.normal_()
    x, t = torch.randn(2, 3, 8, 8), torch.tensor([500, 500])
    with torch.no_grad():
        a = model(x, t, torch.tensor([0, 0]))
        b = model(x, t, torch.tensor([1, 1]))
        assert a.shape == x.shape and (a - b).abs().max() > 1e-4
        model.init_slot(2, like=1)
        torch.testing.assert_close(model(x, t, torch.tensor([2, 2])), b)
    with pytest.raises(ValueError, match="spare"):
        model.init_slot(1, like=0)


@pytest.mark.slow
def test_base_loss_falls_and_prior_term_only_with_lambda(tiny: ClassConditionalUNet) -> None:
    torch.manual_seed(0)
    images = torch.zeros(8, 3, 8, 8)
    images[4:] = 1.0  # class 0 black, class 1 white
    labels = torch.tensor([0] * 4 + [1] * 4)
    schedule = Schedule(timesteps=100)
    log = train_base(
        tiny, images, labels, Optim(steps=60, batch_size=8, lr=3e-3, warmup=5), schedule
    )
    assert sum(log.losses[-10:]) / 10 < 0.6 * sum(log.losses[:10]) / 10
    o = Optim(steps=3, batch_size=4, lr=1e-4, warmup=1)
    with_prior = train_dreambooth(tiny, images[:2], 2, images[4:], 1, 1.0, o, schedule)
    without = train_dreambooth(tiny, images[:2], 2, images[4:], 1, 0.0, o, schedule)
    assert min(with_prior.prior_losses) > 0 and max(without.prior_losses) == 0.0
    # the trained model tells the classes apart: class-1 samples are brighter
    for kind in ("ddim", "ddpm"):
        sampler = Sampler(kind, steps=20, batch_size=4)
        dark = generate(tiny, torch.zeros(4, dtype=torch.long), sampler, schedule, seed=0)
        light = generate(tiny, torch.ones(4, dtype=torch.long), sampler, schedule, seed=0)
        assert dark.min() >= 0 and light.max() <= 1
        assert light.mean() - dark.mean() > 0.3, kind


def test_save_grid_writes_a_tiled_png(tmp_path: Path) -> None:
    import cv2

    path = save_grid(torch.rand(5, 3, 4, 4), tmp_path / "g" / "grid.png", columns=3, scale=2)
    image = cv2.imread(str(path))
    assert image.shape == (2 * 6 * 2, 3 * 6 * 2, 3)


def test_sampler_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="ddim, ddpm"):
        Sampler(kind="euler")
