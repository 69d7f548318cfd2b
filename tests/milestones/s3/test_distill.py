"""s3.distill at smoke scale on the Fashion-MNIST proxy: teacher choice, both students, export.

One run through the runner (teacher trained in the run, ONNX export, student
registered), one run whose teacher is the registry's s3.resnet18 model (it must
score exactly what that run reported on the same test images), and the one-line
errors for a teacher that is missing or cannot teach this data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_roadmap.artifacts import ModelCard
from ai_roadmap.artifacts.torch import save_torch_model
from ai_roadmap.config import compose
from ai_roadmap.datasets.images import PROXY_NAME, load_image_data
from ai_roadmap.errors import RoadmapError, UsageError
from ai_roadmap.runner import NOT_MEASURED, run_milestone
from ai_roadmap.vision.mobilenetv2 import MobileNetV2, MobileNetV2Config
from ai_roadmap.vision.resnet import ResNet, ResNetConfig, count_parameters

pytestmark = pytest.mark.data


def test_smoke_run_through_the_runner(roadmap_home: Path) -> None:
    report = run_milestone("s3.distill", "smoke")
    m = report.metrics
    assert report.proxy and report.dataset.startswith(PROXY_NAME)
    assert report.verdict == NOT_MEASURED and "CIFAR-10" in report.reason
    # the figures are what their definitions say, from the reported accuracies
    assert m["accuracy_drop_points"] == pytest.approx(
        100 * (m["teacher_accuracy"] - m["student_accuracy"])
    )
    assert m["distillation_gain_points"] == pytest.approx(
        100 * (m["student_accuracy"] - m["plain_student_accuracy"])
    )
    for key in ("teacher_accuracy", "student_accuracy", "plain_student_accuracy"):
        assert 0.0 <= m[key] <= 1.0 and 0.0 <= m[key + "_tta"] <= 1.0
    # parameter counts of independently built models: a width-16 teacher, a ×0.25 student
    teacher = count_parameters(ResNet(ResNetConfig(1, 10, base_width=16)))
    student = count_parameters(MobileNetV2(MobileNetV2Config(1, 10, width_mult=0.25)))
    assert (m["teacher_params"], m["student_params"]) == (teacher, student)
    assert m["param_ratio"] == pytest.approx(student / teacher) and m["param_ratio"] <= 0.5
    assert m["teacher_train_seconds"] > 0  # smoke trains its teacher in the run
    assert m["exports_failed"] == 0 and m["onnx_max_abs_diff"] <= 1e-4
    assert any("trained in this run" in note for note in report.notes)
    assert {"student_curves.png", "histories.json"} <= {Path(a).name for a in report.artifacts}
    from ai_roadmap import tracking
    from ai_roadmap.settings import get_settings

    folder, version = tracking.champion_model_dir(get_settings(), "s3.distill", roadmap_home / "dl")
    card = json.loads((folder / "model_card.json").read_text())
    assert version == "1" and card["metrics"]["student_accuracy"] == m["student_accuracy"]
    assert json.loads((folder / "architecture.json").read_text())["config"]["width_mult"] == 0.25


def test_the_registry_teacher_is_reused_and_scores_what_it_reported(
    roadmap_home: Path, tmp_path: Path
) -> None:
    from ai_roadmap.milestones.s3.distill import run

    teacher_run = run_milestone("s3.resnet18", "smoke")  # same 512 / 500 proxy subsets
    cfg = compose("s3.distill", "smoke", ["teacher.source=registry", "export.formats=[]"])
    cfg.output_dir = str(tmp_path / "out")
    result = run(cfg)
    assert any("registry model s3.resnet18 v1" in note for note in result.notes)
    assert result.metrics["teacher_train_seconds"] == 0.0
    assert result.metrics["teacher_accuracy"] == teacher_run.metrics["test_accuracy"]
    assert result.metrics["teacher_accuracy_tta"] == teacher_run.metrics["test_accuracy_tta"]
    assert "exports_failed" not in result.metrics  # export switched off
    assert not (tmp_path / "out" / "export").exists()


def test_registry_teacher_missing_is_one_line(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.milestones.s3.distill import run

    cfg = compose("s3.distill", "smoke", ["teacher.source=registry"])
    cfg.output_dir = str(tmp_path / "out")
    with pytest.raises(RoadmapError, match=r"no s3\.resnet18 model yet.*roadmap run s3\.resnet18"):
        run(cfg)
    with pytest.raises(UsageError, match=r"teacher\.source must be one of"):
        run(compose("s3.distill", "smoke", ["teacher.source=imagenet"]))
    assert not (tmp_path / "out" / "model").exists()  # nothing half-written


def test_a_teacher_for_other_images_is_refused(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.milestones.s3.distill import get_teacher, teacher_from_folder

    data = load_image_data("fashion-mnist", 256, 100)
    colour = ResNet(ResNetConfig(3, 10, base_width=8))  # a CIFAR-shaped teacher
    image = {"type": "image", "shape": [3, 32, 32], "mean": [0.5] * 3, "std": [0.25] * 3}
    card = ModelCard("s3.resnet18", "classification", "label", {"image": image})
    card.classes = list(data.classes)
    student = MobileNetV2(MobileNetV2Config(1, 10, width_mult=0.25))
    other = save_torch_model(student, tmp_path / "student", card)
    assert "MobileNetV2, not a ResNet" in str(teacher_from_folder(other, data))
    folder = save_torch_model(colour, tmp_path / "cifar", card)
    assert "[3, 32, 32]" in str(teacher_from_folder(folder, data))
    cfg = compose("s3.distill", "smoke", [f"teacher.model_dir={folder}"])
    with pytest.raises(UsageError, match=r"cannot teach this run.*\[3, 32, 32\]"):
        get_teacher(cfg, data, tmp_path / "out")
    missing = compose("s3.distill", "smoke", [f"teacher.model_dir={tmp_path / 'none'}"])
    with pytest.raises(UsageError, match="is not a folder"):
        get_teacher(missing, data, tmp_path / "out")


@pytest.mark.parametrize("channels", [1, 3])
def test_full_size_student_has_at_most_half_the_teacher_parameters(channels: int) -> None:
    """The roadmap's bar at the quick/full widths: ResNet-18 vs MobileNetV2 ×1."""
    quick = compose("s3.distill", "quick")
    assert quick.student.width_mult == compose("s3.distill", "full").student.width_mult == 1.0
    teacher = count_parameters(ResNet(ResNetConfig(channels, 10)))
    student = count_parameters(MobileNetV2(MobileNetV2Config(channels, 10, width_mult=1.0)))
    assert 11_000_000 < teacher < 11_300_000 and 2_200_000 < student < 2_300_000
    assert student / teacher <= 0.5
