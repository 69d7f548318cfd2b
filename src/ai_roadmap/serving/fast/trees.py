"""Tree ensembles (LightGBM, scikit-learn forests and boosting) evaluated in NumPy.

Every tree of the ensemble is walked at once for every row: ``node`` is an (n, T) array
of current node ids, and each round moves every row that is not yet at a leaf one level
down. A split sends x to the left child when

- numerical: x ≤ threshold, except that a missing x goes to the side the tree learned
  (LightGBM: a NaN counts as 0 unless the split's missing type is NaN; with missing type
  Zero, |x| ≤ 1e-35 is "missing");
- categorical (LightGBM): the integer category of x is in the split's set; NaN and
  negative categories go right.

Leaves are stored as negative ids (−1 − leaf). The ensemble's output is
``link(base + scale · Σ_t leaf_t)`` (``average``: the mean over trees instead of the sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

ZERO = 1e-35  # LightGBM's kZeroThreshold
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
FIELDS = ("feature", "threshold", "left", "right", "default_left", "missing", "cat_row", "leaf")


@dataclass
class Forest:
    feature: np.ndarray  # (nodes,) int
    threshold: np.ndarray  # (nodes,) float64
    left: np.ndarray  # (nodes,) int: child id, or −1 − leaf
    right: np.ndarray
    default_left: np.ndarray  # (nodes,) bool: where a missing value goes
    missing: np.ndarray  # (nodes,) int: MISSING_NONE | MISSING_ZERO | MISSING_NAN
    cat_row: np.ndarray  # (nodes,) int: row of ``categories`` for a categorical split, else −1
    categories: np.ndarray  # (cat nodes, width) bool: category c goes left
    leaf: np.ndarray  # (leaves,) float64
    roots: np.ndarray  # (trees,) int: root node, or −1 − leaf for a one-leaf tree
    base: float = 0.0
    scale: float = 1.0
    average: bool = False
    float32: bool = False  # scikit-learn trees compare float32 inputs
    link: str = "identity"  # identity | logit

    def to_arrays(self, key: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(the spec entry, its arrays) for ``fast.json`` / ``fast.npz``."""
        arrays = {f"{key}.{name}": getattr(self, name) for name in FIELDS}
        arrays[f"{key}.categories"] = self.categories
        arrays[f"{key}.roots"] = self.roots
        spec = {
            "kind": "forest",
            "key": key,
            "base": self.base,
            "scale": self.scale,
            "average": self.average,
            "float32": self.float32,
            "link": self.link,
        }
        return spec, arrays

    @classmethod
    def from_arrays(cls, spec: dict[str, Any], arrays: Any) -> Forest:
        key = spec["key"]
        taken = {
            name: np.asarray(arrays[f"{key}.{name}"]) for name in (*FIELDS, "categories", "roots")
        }
        return cls(
            **taken,
            base=float(spec["base"]),
            scale=float(spec["scale"]),
            average=bool(spec["average"]),
            float32=bool(spec["float32"]),
            link=str(spec["link"]),
        )

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """(n, T) leaf ids reached by each row in each tree."""
        x = np.asarray(x, dtype=float)
        if self.float32:
            x = x.astype(np.float32).astype(np.float64)
        n, trees = len(x), len(self.roots)
        node = np.broadcast_to(self.roots, (n, trees)).copy()
        rows = np.broadcast_to(np.arange(n)[:, None], (n, trees))
        width = self.categories.shape[1] if self.categories.size else 0
        while True:
            active = node >= 0
            if not active.any():
                break
            at, r = node[active], rows[active]
            value = x[r, self.feature[at]]
            missing_type = self.missing[at]
            gap = np.isnan(value)
            numeric = np.where(gap & (missing_type != MISSING_NAN), 0.0, value)
            is_missing = ((missing_type == MISSING_ZERO) & (np.abs(numeric) <= ZERO)) | (
                (missing_type == MISSING_NAN) & gap
            )
            with np.errstate(invalid="ignore"):
                go_left = np.where(is_missing, self.default_left[at], numeric <= self.threshold[at])
            categorical = self.cat_row[at] >= 0
            if categorical.any():
                v = value[categorical]
                valid = ~np.isnan(v) & (v >= 0) & (v < width)
                code = np.where(valid, v, 0).astype(int)
                table = self.categories[self.cat_row[at][categorical]]
                go_left[categorical] = valid & table[np.arange(len(code)), code]
            node[active] = np.where(go_left, self.left[at], self.right[at])
        return -node - 1

    def predict(self, x: np.ndarray) -> np.ndarray:
        values = self.leaf[self.leaves(x)]
        total = values.mean(axis=1) if self.average else values.sum(axis=1)
        raw = self.base + self.scale * total
        return np.exp(-np.logaddexp(0.0, -raw)) if self.link == "logit" else raw
