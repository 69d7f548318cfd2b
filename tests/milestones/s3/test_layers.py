"""s3.layers at smoke scale: every check passes, the experiment figures are reported
and the two plots are written into the run's output folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.deep.activations import ACTIVATIONS
from ai_roadmap.milestones.s3 import layers

pytestmark = [pytest.mark.slow]

CHECKS = (
    "bn_train_torch",
    "bn_eval_torch",
    "bn_backward_fd",
    "bn_normalises",
    "residual_torch",
    "residual_identity",
    "activation_derivatives",
    "saturation_bound",
)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory):
    cfg = compose("s3.layers", "smoke")
    cfg.output_dir = str(tmp_path_factory.mktemp("s3.layers"))
    return cfg, layers.run(cfg)


def test_smoke_run_passes_every_check(smoke_run) -> None:
    _, result = smoke_run
    assert result.metrics["checks_failed"] == 0, result.notes
    assert result.metrics["checks_passed"] == len(CHECKS)
    assert {f"err_{name}" for name in CHECKS} <= set(result.metrics)
    assert result.proxy is False


def test_smoke_run_reports_the_experiment_figures(smoke_run) -> None:
    cfg, result = smoke_run
    m = result.metrics
    ratios = {a: m[f"grad_ratio_first_last_{a}"] for a in ACTIVATIONS}
    assert all(np.isfinite(r) and r > 0 for r in ratios.values())
    # σ' ≤ 1/4: the sigmoid net's first-layer error is orders of magnitude below its last
    assert ratios["sigmoid"] < 1e-3 < ratios["relu"]
    for depth in cfg.deep_nets.depths:
        for kind in ("plain", "residual"):
            assert 0 < m[f"final_train_loss_{kind}_depth{depth}"] < 10


def test_smoke_run_writes_the_plots(smoke_run) -> None:
    cfg, result = smoke_run
    assert set(result.artifacts) == {"checks.csv", "saturation.png", "plain_vs_residual.png"}
    for path in map(Path, result.artifacts.values()):
        assert path.parent == Path(cfg.output_dir)
        assert path.stat().st_size > 0
    assert Path(result.artifacts["saturation.png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = Path(result.artifacts["checks.csv"]).read_text().splitlines()
    assert len(rows) == len(CHECKS) + 1
