"""s3.regularize at smoke scale on the MNIST digits: every check passes, the gap of each
run is reported and both plots are written into the run's output folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.deep.overfitting import RUNS
from ai_roadmap.milestones.s3 import regularize as rr

pytestmark = [pytest.mark.data, pytest.mark.slow]

CHECKS = (
    "dropout_statistics",
    "dropout_eval_identity",
    "dropout_torch_scaling",
    "label_smoothing_torch",
    "label_smoothing_optimum",
    "mixup_soft_target",
    "mixup_lambda_beta",
    "cutmix_area",
    "early_stopping",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory, data_home: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROADMAP_HOME", str(tmp_path_factory.mktemp("home")))
        mp.setenv("ROADMAP_DATA_HOME", str(data_home))
        from ai_roadmap.settings import get_settings

        get_settings.cache_clear()
        cfg = compose("s3.regularize", "smoke")
        cfg.output_dir = str(tmp_path_factory.mktemp("s3.regularize"))
        result = rr.run(cfg)
        get_settings.cache_clear()
    return cfg, result


def test_smoke_run_passes_every_check(smoke_run) -> None:
    _, result = smoke_run
    assert result.metrics["checks_failed"] == 0, result.notes
    assert result.metrics["checks_passed"] == len(CHECKS)
    assert {f"err_{name}" for name in CHECKS} <= set(result.metrics)
    assert "mnist" in result.dataset and result.proxy is False


def test_smoke_run_reports_each_runs_gap(smoke_run) -> None:
    cfg, result = smoke_run
    for name in RUNS:
        gap, train, val = (
            result.metrics[f"{k}_{name}"] for k in ("gap_acc", "train_acc", "val_acc")
        )
        assert 0.0 <= val <= 1.0 and 0.0 <= train <= 1.0
        assert gap == pytest.approx(train - val)
        assert np.isfinite(result.metrics[f"gap_loss_{name}"])
        assert 1 <= result.metrics[f"epochs_{name}"] <= cfg.experiment.epochs
    # 200 training digits, 4 epochs: the MLP already learns far better than chance (0.1)
    assert result.metrics["val_acc_baseline"] > 0.3


def test_smoke_run_writes_the_plots(smoke_run) -> None:
    cfg, result = smoke_run
    assert set(result.artifacts) == {"checks.csv", "regularisation_gap.png", "learning_curves.png"}
    for path in map(Path, result.artifacts.values()):
        assert path.parent == Path(cfg.output_dir)
        assert path.stat().st_size > 0
    assert Path(result.artifacts["learning_curves.png"]).read_bytes()[:4] == b"\x89PNG"
