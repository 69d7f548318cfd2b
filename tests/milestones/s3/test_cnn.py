"""s3.cnn at smoke scale: every check passes and both figures are written."""

from __future__ import annotations

from pathlib import Path

from ai_roadmap.config import compose
from ai_roadmap.milestones.s3 import cnn


def test_smoke_run_passes_every_check_and_writes_the_figures(
    roadmap_home: Path, tmp_path: Path
) -> None:
    cfg = compose("s3.cnn", "smoke")
    cfg.output_dir = str(tmp_path / "out")
    result = cnn.run(cfg)
    m = result.metrics
    assert m["checks_failed"] == 0, result.notes
    assert m["checks_passed"] == 11
    assert m["configurations_checked"] == 4 * cfg.sizes.configs >= 400
    assert m["stacks_checked"] == cfg.receptive_field.stacks
    assert m["err_conv2d_numpy"] < 1e-12 and m["err_conv_transpose2d_numpy"] < 1e-12
    assert set(result.artifacts) == {"checks.csv", "receptive_fields.png", "separable_cost.png"}
    for path in map(Path, result.artifacts.values()):
        assert path.parent == Path(cfg.output_dir) and path.stat().st_size > 0
    rows = Path(result.artifacts["checks.csv"]).read_text().splitlines()
    assert len(rows) == 1 + 11 and all(",True," in row for row in rows[1:])
