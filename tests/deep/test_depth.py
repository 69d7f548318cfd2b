"""The plain and residual networks of the depth experiment."""

from __future__ import annotations

import pytest
import torch

from ai_roadmap.deep import depth


def test_deep_net_counts_linear_layers_and_rejects_odd_residual_depth() -> None:
    for kind in ("plain", "residual"):
        net = depth.deep_net(kind, 8, 5, 6, 3)
        assert sum(isinstance(m, torch.nn.Linear) for m in net.modules()) == 8
        assert net(torch.randn(4, 5)).shape == (4, 3)
    with pytest.raises(ValueError, match="even"):
        depth.deep_net("residual", 7, 5, 6, 3)
