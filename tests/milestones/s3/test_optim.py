"""s3.optim at smoke scale: every check passes, the comparison run trains every optimiser
on the MNIST digits and writes its loss curves."""

from __future__ import annotations

from pathlib import Path

import pytest

from ai_roadmap.config import compose
from ai_roadmap.deep.optim_checks import TORCH_CASES
from ai_roadmap.milestones.s3 import optim as optim_run

pytestmark = [pytest.mark.data, pytest.mark.slow]

OPTIMISERS = ("sgd", "momentum", "nesterov", "adamw", "lars", "lookahead_sgd", "lookahead_adam")


def test_smoke_run_passes_every_check_and_writes_the_curves(
    roadmap_home: Path, tmp_path: Path
) -> None:
    cfg = compose("s3.optim", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = optim_run.run(cfg)
    m = result.metrics
    assert m["checks_failed"] == 0, result.notes
    assert m["checks_passed"] == 7
    for name in TORCH_CASES:
        assert m[f"err_{name}"] < 1e-12  # float64 rounding only
    for name in OPTIMISERS:
        # 20 steps from ln 10 ≈ 2.30: every optimiser has started to learn
        assert 0.0 < m[f"final_train_loss_{name}"] < 2.3
        assert 0.0 <= m[f"test_accuracy_{name}"] <= 1.0
    assert m["test_accuracy_momentum"] > 0.5
    assert set(result.artifacts) == {"checks.csv", "optimiser_curves.png"}
    for path in map(Path, result.artifacts.values()):
        assert path.parent == Path(cfg.output_dir) and path.stat().st_size > 0
    assert Path(result.artifacts["optimiser_curves.png"]).read_bytes()[:4] == b"\x89PNG"
