"""The shared image-training loop: augmentation on tensors, schedule, loss, seeds, resume, TTA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ai_roadmap.datasets.images import ImageData, normalise
from ai_roadmap.training.augment import (
    Augmentation,
    augment,
    draw_augmentation,
    epoch_batches,
    epoch_generator,
    shard,
)
from ai_roadmap.training.evaluate import evaluate
from ai_roadmap.training.hardware import autocast_dtype, channels_last_is_safe, cpu_has_native_bf16
from ai_roadmap.training.loop import TrainOptions, fit, lr_at, smoothed_cross_entropy
from ai_roadmap.vision.resnet import ResNet, ResNetConfig


def synthetic_data(n: int = 64, size: int = 8, seed: int = 0) -> ImageData:
    """Random grey images whose label is the brighter half (left or right) plus noise classes."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 3, (n,), generator=g)
    return ImageData(
        images, labels, images[:16], labels[:16], (0.5,), (0.29,), ("a", "b", "c"), "toy", True
    )


def tiny_resnet(seed: int, width: int = 8) -> ResNet:
    torch.manual_seed(seed)
    return ResNet(ResNetConfig(1, 3, base_width=width, blocks_per_stage=(1, 1)))


def options(**overrides: object) -> TrainOptions:
    base = {
        "epochs": 2,
        "batch_size": 16,
        "lr": 0.1,
        "crop_padding": 1,
        "precision": "fp32",
        "compile": "off",
        "progress": False,
    }
    return TrainOptions(**{**base, **overrides})  # type: ignore[arg-type]


# ── augmentation ─────────────────────────────────────────────────────────────────────


def crop_by_hand(image: torch.Tensor, dy: int, dx: int, p: int) -> torch.Tensor:
    c, h, w = image.shape
    padded = torch.zeros(c, h + 2 * p, w + 2 * p, dtype=image.dtype)
    padded[:, p : p + h, p : p + w] = image
    return padded[:, dy : dy + h, dx : dx + w]


def test_random_crop_cuts_each_image_at_its_own_offset() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (12, 3, 7, 7), generator=g, dtype=torch.uint8)
    aug = draw_augmentation(12, 3, flip=False, generator=g)
    out = augment(x, aug)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert len(set(zip(aug.dy.tolist(), aug.dx.tolist(), strict=True))) > 1
    for i in range(12):
        expected = crop_by_hand(x[i], int(aug.dy[i]), int(aug.dx[i]), 3)
        assert torch.equal(out[i], expected)


def test_centre_offset_is_the_identity_and_flip_is_a_mirror() -> None:
    x = torch.arange(2 * 1 * 4 * 5, dtype=torch.uint8).reshape(2, 1, 4, 5)
    centre = Augmentation(torch.tensor([2, 2]), torch.tensor([2, 2]), torch.tensor([0, 0]) > 0, 2)
    assert torch.equal(augment(x, centre), x)
    mirror = Augmentation(torch.tensor([0, 0]), torch.tensor([0, 0]), torch.tensor([1, 0]) > 0, 0)
    out = augment(x, mirror)
    assert torch.equal(out[0, 0, :, 0], x[0, 0, :, 4])  # column j ↦ column W − 1 − j
    assert torch.equal(out[0], x[0].flip(-1)) and torch.equal(out[1], x[1])


def test_augmentation_keeps_what_the_label_depends_on() -> None:
    """Images filled with their label's grey level keep it at the centre after any crop."""
    labels = torch.arange(10)
    x = (labels * 20).to(torch.uint8)[:, None, None, None].expand(10, 1, 8, 8).contiguous()
    aug = draw_augmentation(10, 2, flip=True, generator=torch.Generator().manual_seed(0))
    out = augment(x, aug)
    assert torch.equal(out[:, 0, 4, 4], (labels * 20).to(torch.uint8))


def test_flip_off_draws_no_flips_and_offsets_stay_in_range() -> None:
    aug = draw_augmentation(500, 3, flip=False, generator=torch.Generator().manual_seed(0))
    assert not aug.flip.any()
    assert int(aug.dy.min()) == 0 and int(aug.dy.max()) == 6
    on = draw_augmentation(500, 3, flip=True, generator=torch.Generator().manual_seed(0))
    assert 0.4 < on.flip.float().mean() < 0.6


def test_normalise_gives_zero_mean_unit_std_per_channel() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (200, 2, 5, 5), generator=g, dtype=torch.uint8)
    scaled = x.double() / 255
    mean = tuple(scaled.mean(dim=(0, 2, 3)).tolist())
    std = tuple(scaled.std(dim=(0, 2, 3), unbiased=False).tolist())
    z = normalise(x, mean, std)
    torch.testing.assert_close(z.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        z.std(dim=(0, 2, 3), unbiased=False), torch.ones(2), atol=1e-5, rtol=0
    )


def test_batches_cover_the_epoch_and_shards_split_them() -> None:
    rows = [r for r, _ in epoch_batches(50, 8, epoch_generator(0, 0), 1, True, world_size=2)]
    assert len(rows) == 6  # 50 // 8; the last partial batch is dropped
    assert len(set(torch.cat(rows).tolist())) == 48
    batch = torch.arange(8)
    parts = [batch[shard(batch, r, 4)] for r in range(4)]
    assert torch.equal(torch.cat(parts), batch) and all(len(p) == 2 for p in parts)
    with pytest.raises(ValueError):
        shard(torch.arange(10), 0, 4)
    first = [r for r, _ in epoch_batches(50, 8, epoch_generator(0, 1), 1, True)]
    assert not torch.equal(first[0], rows[0])  # another epoch, another order


# ── schedule, loss, precision ────────────────────────────────────────────────────────


def test_one_cycle_rises_linearly_to_the_peak_then_falls_to_zero() -> None:
    total, peak = 100, 0.4
    lrs = [lr_at(s, total, peak, 0.2) for s in range(total)]
    assert lrs[19] == pytest.approx(peak) and max(lrs) == pytest.approx(peak)
    assert lrs[0] == pytest.approx(peak / 20)
    assert lrs[-1] == pytest.approx(peak / 80)
    rises, falls = torch.tensor(lrs[:20]).diff(), torch.tensor(lrs[20:]).diff()
    torch.testing.assert_close(rises, torch.full_like(rises, peak / 20))
    torch.testing.assert_close(falls, torch.full_like(falls, -peak / 80))


def test_label_smoothing_loss_is_the_mixture_of_true_class_and_uniform() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 5, generator=g, dtype=torch.float64)
    y = torch.randint(0, 5, (6,), generator=g)
    log_p = logits.log_softmax(1)
    eps = 0.2
    expected = ((1 - eps) * -log_p[torch.arange(6), y] + eps * -log_p.mean(1)).mean()
    got = smoothed_cross_entropy(eps)(logits, y, torch.empty(0))
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        smoothed_cross_entropy(0.0)(logits, y, torch.empty(0)), F.nll_loss(log_p, y)
    )
    # The other common convention (ε spread over the K − 1 wrong classes) is a different loss.
    wrong_q = torch.full_like(log_p, eps / 4).scatter(1, y[:, None], 1 - eps)
    assert abs(float(got) - float(-(wrong_q * log_p).sum(1).mean())) > 1e-4


def test_precision_choice() -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None
    assert autocast_dtype("bf16", cpu) == torch.bfloat16
    native = cpu_has_native_bf16()
    assert autocast_dtype("auto", cpu) == (torch.bfloat16 if native else None)
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if "avx512_bf16" not in flags and "amx_bf16" not in flags and flags:
        assert not native


# ── the loop: seeds, resume, custom loss ─────────────────────────────────────────────


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=0, rtol=0, msg=key)


def test_same_seed_gives_identical_weights_and_another_seed_does_not() -> None:
    torch.set_num_threads(1)
    data = synthetic_data()
    first = weights(fit(tiny_resnet(0), data, options()).model)
    second = weights(fit(tiny_resnet(0), data, options()).model)
    assert_same_weights(first, second)
    other = weights(fit(tiny_resnet(0), data, options(seed=1)).model)
    assert any(not torch.equal(first[k], other[k]) for k in first if first[k].is_floating_point())


class Interrupt(RuntimeError):
    pass


def test_resume_from_a_checkpoint_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    data = synthetic_data()
    opts = options(epochs=3)
    straight = fit(tiny_resnet(0), data, opts)
    steps_per_epoch = len(data.train_images) // opts.batch_size
    calls = 0
    base_loss = smoothed_cross_entropy(opts.label_smoothing)

    def dies_in_epoch_two(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls > steps_per_epoch + 1:
            raise Interrupt
        return base_loss(logits, y, x)

    with pytest.raises(Interrupt):
        fit(tiny_resnet(0), data, opts, loss_fn=dies_in_epoch_two, checkpoint_dir=tmp_path)
    assert (tmp_path / "checkpoint.pt").exists()
    # A different initialisation: everything must come from the checkpoint.
    resumed = fit(tiny_resnet(7), data, opts, checkpoint_dir=tmp_path)
    assert [h["epoch"] for h in resumed.history] == [1.0, 2.0, 3.0]
    assert resumed.images == 2 * steps_per_epoch * opts.batch_size  # only epochs 2 and 3 ran
    assert_same_weights(weights(straight.model), weights(resumed.model))
    again = fit(tiny_resnet(3), data, opts, checkpoint_dir=tmp_path)  # all done: nothing runs
    assert again.images == 0
    assert_same_weights(weights(straight.model), weights(again.model))


def test_loss_hook_receives_the_augmented_normalised_inputs() -> None:
    torch.set_num_threads(1)
    data = synthetic_data()
    seen: list[tuple[torch.Size, float]] = []

    def recording(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        seen.append((x.shape, float(x.mean())))
        assert logits.shape == (len(y), 3)
        return F.cross_entropy(logits, y)

    fit(tiny_resnet(0), data, options(epochs=1), loss_fn=recording)
    assert len(seen) == 4 and all(shape == (16, 1, 8, 8) for shape, _ in seen)
    assert all(abs(mean) < 0.5 for _, mean in seen)  # normalised, not raw 0…255 bytes


def test_training_lowers_the_loss_on_a_learnable_task() -> None:
    """Label = which half of the image is bright: a few epochs must learn it."""
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (128,), generator=g)
    x = torch.randint(0, 60, (128, 1, 8, 8), generator=g, dtype=torch.uint8)
    x[y == 0, :, :4, :] += 150  # top half bright for class 0
    x[y == 1, :, 4:, :] += 150  # bottom half bright for class 1
    data = ImageData(x, y, x, y, (0.4,), (0.3,), ("top", "bottom"), "toy", True)
    torch.manual_seed(0)
    model = ResNet(ResNetConfig(1, 2, base_width=8, blocks_per_stage=(1, 1)))
    report = fit(model, data, options(epochs=6, batch_size=32, lr=0.2))
    assert report.history[-1]["loss"] < report.history[0]["loss"]
    assert evaluate(report.model, x, y, normalise=data.normalise)["accuracy"] > 0.9


def test_channels_last_is_used_except_where_torch_would_corrupt_memory() -> None:
    """Strided 1×1 convs with < 8 input channels fall back to the default layout on CPU."""
    torch.set_num_threads(1)
    data = synthetic_data()
    wide = fit(tiny_resnet(0, width=8), data, options(epochs=1))
    assert wide.channels_last
    assert next(wide.model.parameters()).is_contiguous(memory_format=torch.channels_last)
    narrow = fit(tiny_resnet(0, width=4), data, options(epochs=1))  # 4 -> 8 projection
    assert not narrow.channels_last
    assert not fit(tiny_resnet(0), data, options(epochs=1, channels_last=False)).channels_last
    assert channels_last_is_safe(tiny_resnet(0, width=4), torch.device("cuda"))
    assert not channels_last_is_safe(tiny_resnet(0, width=4), torch.device("cpu"))


# ── evaluation with test-time augmentation ───────────────────────────────────────────


class LeftColumnModel(nn.Module):
    """Logits from the left and right columns with different weights: not flip-invariant."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        edges = torch.cat([x[:, 0, :, 0], x[:, 0, :, -1]], dim=1)  # (N, 4 + 4)
        return self.linear(edges)


def test_tta_averages_the_logits_of_the_image_and_its_mirror() -> None:
    torch.manual_seed(0)
    model = LeftColumnModel()
    x = torch.randn(300, 1, 4, 4)
    y = torch.randint(0, 3, (300,))
    scores = evaluate(model, x, y, tta=True, batch_size=64)
    with torch.no_grad():
        plain = model(x)
        both = plain + model(x.flip(-1))
    assert scores["accuracy"] == pytest.approx(float((plain.argmax(1) == y).float().mean()))
    assert scores["accuracy_tta"] == pytest.approx(float((both.argmax(1) == y).float().mean()))
    assert scores["accuracy"] != scores["accuracy_tta"]  # the mirror changes some decisions
    assert "accuracy_tta" not in evaluate(model, x, y, tta=False)


def test_tta_changes_nothing_for_a_mirror_symmetric_model() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1, 3))
    x, y = torch.randn(100, 1, 4, 4), torch.randint(0, 3, (100,))
    scores = evaluate(model, x, y)
    assert scores["accuracy"] == scores["accuracy_tta"]
