"""The plain and residual networks of the depth experiment, and the shortcut's effect on
training a deep stack."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.deep import depth
from ai_roadmap.training.threads import torch_threads


def test_deep_net_counts_linear_layers_and_rejects_odd_residual_depth() -> None:
    for kind in ("plain", "residual"):
        net = depth.deep_net(kind, 8, 5, 6, 3)
        assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 8
        assert net(torch.randn(4, 5)).shape == (4, 3)
    with pytest.raises(ValueError, match="even"):
        depth.deep_net("residual", 7, 5, 6, 3)


@pytest.mark.slow
def test_residual_net_out_trains_the_plain_one_when_deep() -> None:
    """Same data, seed and SGD budget: at depth 32 the plain stack barely moves."""
    setup = depth.DepthExperiment(depths=(32,), n_samples=256, steps=60, batch=64)
    with torch_threads(1):
        curves = depth.depth_experiment(setup, seed=0)
    plain, residual = (depth.final_loss(curves[k, 32]) for k in ("plain", "residual"))
    assert residual < 0.8 * plain, (plain, residual)
