"""Activation derivatives against autograd and the saturation bound on the back-propagated
error; each check also fails on a deliberately wrong variant.
"""

from __future__ import annotations

import numpy as np
import pytest

from ai_roadmap.deep import activations as act

pytestmark = pytest.mark.reference


def test_activation_derivatives_pass_and_a_wrong_sigmoid_derivative_fails() -> None:
    grid = np.linspace(-10, 10, 2001)
    assert act.check_activation_derivatives(grid).passed

    def sigmoid_itself(name: str, x: np.ndarray) -> np.ndarray:
        if name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-x))
        return act.activation_derivative(name, x)

    rec = act.check_activation_derivatives(grid, derivative=sigmoid_itself)
    assert not rec.passed and rec.error > 0.1, rec


def test_gelu_derivative_peaks_at_root_two() -> None:
    grid = np.linspace(0.0, 3.0, 300001)
    d = act.activation_derivative("gelu", grid)
    assert grid[np.argmax(d)] == pytest.approx(np.sqrt(2.0), abs=1e-4)
    assert d.max() == pytest.approx(act.GELU_SUP, abs=1e-10)


def test_saturation_bound_holds_and_a_too_tight_bound_fails() -> None:
    runs = [act.gradient_by_depth(a, 8, 16, 32, 10, seed=0) for a in act.ACTIVATIONS]
    assert act.check_saturation_bound(runs).passed
    too_tight = dict(act.SUP_DERIVATIVE, sigmoid=0.1)  # σ'(0) = 1/4 > 0.1
    rec = act.check_saturation_bound(runs, sup=too_tight)
    assert not rec.passed, rec
    sigmoid = runs[0]
    # back-propagated through the sigmoid net, the error shrinks at least like (1/4)||W||₂
    assert sigmoid.error_norms[0] / sigmoid.error_norms[-1] <= np.prod(
        0.25 * sigmoid.weight_norms[:-1]
    )
