"""s1.pca at smoke scale on the real MNIST digits (a random 1 000-image subset).

One run (a few seconds) checked three ways: the figures are in the range real
MNIST gives, the reconstruction errors equal the dropped variance computed by
scikit-learn, and the three PNGs are written into the output folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ai_roadmap.config import compose
from ai_roadmap.result import Result

pytestmark = [pytest.mark.data, pytest.mark.slow]

KS = (10, 50, 150)


def assert_metrics_sane(result: Result) -> None:
    m = result.metrics
    # 1 000 random digits need ~130 components for 95 % (all 10 000 need 150)
    assert 100 <= m["components_95"] <= 170
    assert m["max_abs_component_diff"] < 1e-8  # the catalog target
    assert m["max_abs_solver_diff"] < 1e-8
    mse = [m[f"reconstruction_mse_k{k}"] for k in KS]
    assert 0.02 < mse[0] < 0.05  # total pixel variance is ~0.07: k = 10 keeps about half
    assert mse[0] > mse[1] > mse[2] > 0
    kept = [m[f"explained_variance_k{k}"] for k in KS]
    assert 0.4 < kept[0] < kept[1] < kept[2] < 1.0
    assert result.proxy is False
    assert "1 000-image" in result.dataset and "mnist" in result.dataset


def assert_mse_is_dropped_variance(result: Result, n: int, seed: int) -> None:
    """MSE_k = (n − 1)/(n d) Σ_{j>k} λ_j, with λ from sklearn on the same images."""
    from sklearn.decomposition import PCA as SkPCA

    from ai_roadmap.datasets.mnist import load_mnist

    images, _ = load_mnist()
    chosen = np.random.default_rng(seed).permutation(len(images))[:n]
    X = images[chosen].reshape(n, -1) / 255.0  # (n, 28, 28) -> (n, 784)
    variance = SkPCA(svd_solver="full").fit(X).explained_variance_
    for k in KS:
        expected = (n - 1) / (n * X.shape[1]) * variance[k:].sum()
        assert result.metrics[f"reconstruction_mse_k{k}"] == pytest.approx(expected, rel=1e-8)


def assert_figures_written(result: Result, out: Path) -> None:
    assert set(result.artifacts) == {
        "scatter_2d.png",
        "explained_variance.png",
        "reconstructions.png",
    }
    for path in map(Path, result.artifacts.values()):
        assert path.parent == out
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 5_000


def test_smoke_run(roadmap_home: Path, tmp_path: Path) -> None:
    from ai_roadmap.milestones.s1.pca import run

    cfg = compose("s1.pca", "smoke")
    out = tmp_path / "out"
    out.mkdir()
    cfg.output_dir = str(out)
    result = run(cfg)
    assert_metrics_sane(result)
    assert_mse_is_dropped_variance(result, int(cfg.data.n_images), int(cfg.seed))
    assert_figures_written(result, out)
