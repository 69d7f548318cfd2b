"""s3.autodiff milestone: a smoke run on the real MNIST digits (metrics, plot, and our
loss curve on top of torch's).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.milestones.s3 import autodiff as am

# ---------------------------------------------------------------- smoke run on MNIST


@pytest.mark.data
def test_smoke_run_on_real_mnist(roadmap_home: Path, tmp_path: Path) -> None:
    cfg = compose("s3.autodiff", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = am.run(cfg)
    m = result.metrics
    expected = {
        "test_accuracy",
        "torch_test_accuracy",
        "max_abs_loss_curve_diff",
        "train_seconds",
        "torch_train_seconds",
        "finite_difference_max_error",
    }
    assert expected <= set(m)
    assert not result.proxy
    assert "2000 test" in result.dataset
    assert 0.6 < m["test_accuracy"] <= 1.0  # one short epoch: well above chance (0.1)
    assert m["test_accuracy"] == m["torch_test_accuracy"]
    assert m["max_abs_loss_curve_diff"] < 1e-10
    assert m["finite_difference_max_error"] < 1e-6
    png = result.artifacts["loss_curves_png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = np.loadtxt(result.artifacts["loss_curves_csv"], delimiter=",", skiprows=1)
    assert rows.shape == (int(m["steps"]), 3)
    np.testing.assert_allclose(rows[:, 1], rows[:, 2], atol=1e-10, rtol=0)
    assert rows[-5:, 1].mean() < rows[0, 1]  # the loss falls
    assert result.model_path is not None and result.model_path.exists()
