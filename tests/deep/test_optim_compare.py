"""Optimisers built from their config entries for the comparison run."""

from __future__ import annotations

import torch

from ai_roadmap.deep import optim_compare as oc
from ai_roadmap.deep.optim import AdamW, Lookahead


def test_build_optimiser_wraps_lookahead_around_its_inner_optimiser() -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    spec = {"kind": "lookahead", "k": 4, "alpha": 0.3, "inner": {"kind": "adamw", "lr": 1e-3}}
    opt = oc.build_optimiser(spec, params)
    assert isinstance(opt, Lookahead) and isinstance(opt.inner, AdamW)
    assert (opt.k, opt.alpha) == (4, 0.3)
    assert opt.param_groups[0] is opt.inner.param_groups[0]
