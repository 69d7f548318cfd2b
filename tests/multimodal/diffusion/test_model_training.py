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
def test_base_loss_falls_and_prior_term_only_with_lambda(
    tiny: ClassConditionalUNet, one_torch_thread: None
) -> None:
    torch.manual_seed(0)
    images = torch.zeros(8, 3, 8, 8)
    images[4:] = 1.0  # class 0 black, class 1 white
    labels = torch.tensor([0] * 4 + [1] * 4)
    schedule = Schedule(timesteps=100)
    log = train_base(
        tiny, images, labels, Optim(steps=80, batch_size=8, lr=3e-3, warmup=5), schedule
    )
    assert sum(log.losses[-10:]) / 10 < 0.6 * sum(log.losses[:10]) / 10
    o = Optim(steps=3, batch_size=4, lr=1e-4, warmup=1)
    with_prior = train_dreambooth(tiny, images[:2], 2, images[4:], 1, 1.0, o, schedule)
    without = train_dreambooth(tiny, images[:2], 2, images[4:], 1, 0.0, o, schedule)
    assert min(with_prior.prior_losses) > 0 and max(without.prior_losses) == 0.0


class OracleDenoiser(torch.nn.Module):
    """The exact ε for data that is one constant image per class (model range):
    ε = (x_t − √ᾱ_t x*_y) / √(1 − ᾱ_t). A perfect model: both samplers must return x*_y."""

    def __init__(self, levels: torch.Tensor, schedule: Schedule) -> None:
        super().__init__()
        self.cfg = UNetConfig(size=8, channels=[8, 16], attention_levels=[1])
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the sampler a device
        self.levels = levels  # (classes,) the constant value of each class, in [−1, 1]
        self.abar = schedule.alphas_cumprod().float()

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        a = self.abar[t].reshape(-1, 1, 1, 1)
        target = self.levels[labels].reshape(-1, 1, 1, 1)
        return (x - a.sqrt() * target) / (1 - a).sqrt()


@pytest.mark.parametrize(("kind", "steps"), [("ddim", 10), ("ddpm", 25)])
def test_samplers_return_the_data_under_a_perfect_model(kind: str, steps: int) -> None:
    schedule = Schedule()
    oracle = OracleDenoiser(torch.tensor([-0.6, 0.6]), schedule)
    labels = torch.tensor([0, 1, 1, 0, 1])
    images = generate(oracle, labels, Sampler(kind, steps, batch_size=2), schedule, seed=3)  # type: ignore[arg-type]
    expected = torch.tensor([0.2, 0.8, 0.8, 0.2, 0.8]).reshape(-1, 1, 1, 1).expand_as(images)
    torch.testing.assert_close(images, expected, atol=1e-3, rtol=0)


def test_save_grid_writes_a_tiled_png(tmp_path: Path) -> None:
    import cv2

    path = save_grid(torch.rand(5, 3, 4, 4), tmp_path / "g" / "grid.png", columns=3, scale=2)
    image = cv2.imread(str(path))
    assert image.shape == (2 * 6 * 2, 3 * 6 * 2, 3)


def test_sampler_kind_is_checked() -> None:
    with pytest.raises(ValueError, match="ddim, ddpm"):
        Sampler(kind="euler")
