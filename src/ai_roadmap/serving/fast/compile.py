"""Compile a fitted stage-2 model into the fast path's ``fast.json`` + ``fast.npz``.

Runs where the model was trained (scikit-learn, LightGBM and pandas installed); the
service then needs NumPy alone (:mod:`.runtime`). Each supported estimator is read
through its fitted attributes; anything else is a one-line error naming it, and the
service keeps serving that model through its training pipeline.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ai_roadmap.errors import RoadmapError
from ai_roadmap.serving.fast import features
from ai_roadmap.serving.fast.runtime import ARRAYS_FILE, SPEC_FILE
from ai_roadmap.serving.fast.trees import MISSING_NAN, MISSING_NONE, MISSING_ZERO, Forest


class Unsupported(RoadmapError):
    """A step the fast path cannot run."""


class _Compiler:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.count = 0

    def key(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def put(self, stem: str, value: Any) -> str:
        key = self.key(stem)
        self.arrays[key] = np.asarray(value)
        return key

    # ── whole estimators ───────────────────────────────────────────────────────
    def estimator(self, est: Any) -> dict[str, Any]:
        from sklearn.pipeline import Pipeline

        name = type(est).__name__
        if isinstance(est, Pipeline):
            steps, previous = [], None
            for _, step in est.steps:
                if (
                    type(step).__name__.startswith("LGBM")
                    and type(previous).__name__ in features.NAMES
                ):
                    steps.append(lightgbm_input(step, previous))
                steps.append(self.estimator(step))
                previous = step
            return {"kind": "pipeline", "steps": steps}
        if name == "DropTrainingOutliers":
            return self.estimator(est.estimator_)  # fit-time only: predict sees every row
        if name == "TransformedTargetRegressor":
            if est.func is not np.log1p or est.inverse_func is not np.expm1:
                raise Unsupported("TransformedTargetRegressor other than log1p/expm1")
            return {"kind": "log_target", "regressor": self.estimator(est.regressor_)}
        if name == "VotingRegressor":
            weights = est.weights if est.weights is not None else [1.0] * len(est.estimators_)
            return {
                "kind": "voting",
                "members": [self.estimator(m) for m in est.estimators_],
                "weights": list(map(float, weights)),
            }
        if name in features.NAMES:
            return {"kind": "features", "name": name, "params": features.export(est, self)}
        if name == "ColumnTransformer":
            return self.columns(est)
        return self.matrix_step(est)

    def columns(self, ct: Any) -> dict[str, Any]:
        if ct.remainder != "drop" and getattr(ct, "_remainder", ("", "drop", []))[2]:
            raise Unsupported("ColumnTransformer with a remainder")
        parts = []
        for _, step, columns in ct.transformers_:
            if step == "drop" or len(columns) == 0:
                continue
            columns = [str(c) for c in columns]
            table = self.table_steps(step, columns)
            if table is not None:
                parts.append({"step": table, "columns": columns, "input": "table"})
            else:
                parts.append({"step": self.estimator(step), "columns": columns, "input": "matrix"})
        return {"kind": "columns", "parts": parts}

    def table_steps(self, step: Any, columns: list[str]) -> dict[str, Any] | None:
        """A one-hot encoder, maybe after imputers, on raw columns; None for a numeric part."""
        steps = [s for _, s in step.steps] if type(step).__name__ == "Pipeline" else [step]
        if type(steps[-1]).__name__ != "OneHotEncoder":
            return None
        out = []
        for s in steps[:-1]:
            if type(s).__name__ != "SimpleImputer" or s.add_indicator:
                raise Unsupported(f"{type(s).__name__} before a OneHotEncoder")
            fill = [_plain(v) for v in s.statistics_]
            out.append({"kind": "impute_table", "columns": columns, "fill": fill})
        out.append(self.one_hot(steps[-1], columns))
        return {"kind": "pipeline", "steps": out}

    def one_hot(self, enc: Any, columns: list[str]) -> dict[str, Any]:
        if enc.handle_unknown != "ignore" or enc.drop is not None:
            raise Unsupported("OneHotEncoder without handle_unknown='ignore' or with drop")
        cats = [[_plain(v) for v in c] for c in enc.categories_]
        return {"kind": "one_hot", "columns": columns, "categories": cats}

    # ── matrix → matrix / prediction ───────────────────────────────────────────
    def matrix_step(self, est: Any) -> dict[str, Any]:
        name = type(est).__name__
        if name == "FunctionTransformer" and est.func is None:
            return {"kind": "identity"}
        if name in ("StandardScaler", "RobustScaler"):  # (x − shift) / scale
            standard = name == "StandardScaler"
            centre, spread = ("mean_", "scale_") if standard else ("center_", "scale_")
            centred = est.with_mean if standard else est.with_centering
            scaled = est.with_std if standard else est.with_scaling
            n = est.n_features_in_
            shift = getattr(est, centre) if centred else np.zeros(n)
            scale = getattr(est, spread) if scaled else np.ones(n)
            return {
                "kind": "affine",
                "shift": self.put("shift", shift),
                "scale": self.put("scale", scale),
            }
        if name == "SimpleImputer" and est.add_indicator is False:
            return {"kind": "impute", "fill": self.put("fill", est.statistics_.astype(float))}
        if name == "ClipToFitRange":
            return {
                "kind": "clip",
                "low": self.put("low", est.min_),
                "high": self.put("high", est.max_),
            }
        if name == "SkewedLog1p":
            return {"kind": "signed_log1p", "columns": self.put("skewed", est.skewed_)}
        if name == "LogisticRegression" and len(est.classes_) == 2:
            return self.linear(est.coef_[0], est.intercept_[0], "logit")
        if name in ("Ridge", "Lasso", "ElasticNet", "LinearRegression") and np.ndim(est.coef_) == 1:
            return self.linear(est.coef_, est.intercept_, "identity")
        if name == "SVR" and est.kernel == "rbf":
            return {
                "kind": "rbf_svr",
                "support": self.put("sv", est.support_vectors_),
                "dual": self.put("dual", est.dual_coef_[0]),
                "gamma": float(est._gamma),
                "intercept": float(est.intercept_[0]),
            }
        if name in ("LGBMClassifier", "LGBMRegressor"):
            return self.forest(lightgbm_forest(est))
        if name in ("RandomForestClassifier", "GradientBoostingClassifier"):
            return self.forest(sklearn_forest(est))
        if name == "WomanChildGroupClassifier":
            return {"kind": "woman_child_group"}
        raise Unsupported(f"no fast path for {name}")

    def linear(self, coef: Any, intercept: Any, link: str) -> dict[str, Any]:
        key = self.put("coef", np.asarray(coef, dtype=float))
        return {"kind": "linear", "coef": key, "intercept": float(intercept), "link": link}

    def forest(self, forest: Forest) -> dict[str, Any]:
        spec, arrays = forest.to_arrays(self.key("forest"))
        self.arrays.update(arrays)
        return spec


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


# ── tree ensembles ───────────────────────────────────────────────────────────────────


class _Nodes:
    def __init__(self) -> None:
        self.rows: list[tuple[int, float, int, int, bool, int, int]] = []
        self.leaves: list[float] = []
        self.cat_sets: list[list[int]] = []

    def leaf(self, value: float) -> int:
        self.leaves.append(float(value))
        return -len(self.leaves)  # −1 − index

    def forest(self, roots: list[int], **kw: Any) -> Forest:
        n = len(self.rows)
        cols = list(zip(*self.rows, strict=True)) if n else [[]] * 7
        width = max((max(s) + 1 for s in self.cat_sets if s), default=0)
        table = np.zeros((len(self.cat_sets), width), dtype=bool)
        for row, chosen in enumerate(self.cat_sets):
            table[row, chosen] = True
        return Forest(
            feature=np.asarray(cols[0], dtype=np.int64),
            threshold=np.asarray(cols[1], dtype=float),
            left=np.asarray(cols[2], dtype=np.int64),
            right=np.asarray(cols[3], dtype=np.int64),
            default_left=np.asarray(cols[4], dtype=bool),
            missing=np.asarray(cols[5], dtype=np.int64),
            cat_row=np.asarray(cols[6], dtype=np.int64),
            categories=table,
            leaf=np.asarray(self.leaves, dtype=float),
            roots=np.asarray(roots, dtype=np.int64),
            **kw,
        )


def lightgbm_forest(model: Any) -> Forest:
    """The booster's trees from ``dump_model`` (the iterations ``predict`` uses)."""
    best = getattr(model, "best_iteration_", None) or None
    dump = model.booster_.dump_model(num_iteration=best)
    objective = str(dump.get("objective", ""))
    if objective.startswith("binary"):
        sigmoid = float(objective.split("sigmoid:")[1]) if "sigmoid:" in objective else 1.0
        link, scale = "logit", sigmoid
    elif objective.startswith("regression") and "sqrt" not in objective:
        link, scale = "identity", 1.0
    else:
        raise Unsupported(f"no fast path for LightGBM objective {objective!r}")
    nodes = _Nodes()
    missing = {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}

    def add(tree: dict[str, Any]) -> int:
        if "leaf_value" in tree:
            return nodes.leaf(tree["leaf_value"])
        at = len(nodes.rows)
        nodes.rows.append((0, 0.0, 0, 0, False, 0, -1))
        categorical = tree["decision_type"] == "=="
        cat_row = -1
        if categorical:
            cat_row = len(nodes.cat_sets)
            nodes.cat_sets.append([int(v) for v in str(tree["threshold"]).split("||")])
        left, right = add(tree["left_child"]), add(tree["right_child"])
        nodes.rows[at] = (
            int(tree["split_feature"]),
            0.0 if categorical else float(tree["threshold"]),
            left,
            right,
            bool(tree["default_left"]),
            missing[tree["missing_type"]],
            cat_row,
        )
        return at

    roots = [add(info["tree_structure"]) for info in dump["tree_info"]]
    return nodes.forest(roots, link=link, scale=scale)


def lightgbm_input(model: Any, features_step: Any) -> dict[str, Any]:
    """How LightGBM's scikit-learn API turns the feature DataFrame into its matrix."""
    names = list(model.booster_.feature_name())
    levels = model.booster_.pandas_categorical or []
    known = getattr(features_step, "categories_", {})
    categorical = [c for c in names if c in known]
    if len(categorical) != len(levels):
        raise Unsupported("LightGBM categorical columns that the feature step does not name")
    categories = {c: [_plain(v) for v in lv] for c, lv in zip(categorical, levels, strict=True)}
    return {"kind": "table_to_matrix", "columns": names, "categories": categories}


def sklearn_forest(model: Any) -> Forest:
    """RandomForestClassifier (mean of P(class 1)) or binary GradientBoostingClassifier."""
    nodes = _Nodes()
    name = type(model).__name__
    if name == "RandomForestClassifier":
        trees = [(t.tree_, "proba") for t in model.estimators_]
    else:
        trees = [(t.tree_, "value") for t in model.estimators_[:, 0]]

    def add(tree: Any, i: int, what: str) -> int:
        if tree.children_left[i] < 0:
            value = tree.value[i, 0]
            return nodes.leaf(value[1] / value.sum() if what == "proba" else value[0])
        at = len(nodes.rows)
        nodes.rows.append((0, 0.0, 0, 0, False, 0, -1))
        left = add(tree, tree.children_left[i], what)
        right = add(tree, tree.children_right[i], what)
        go_left = bool(getattr(tree, "missing_go_to_left", np.zeros(tree.node_count))[i])
        nodes.rows[at] = (
            int(tree.feature[i]),
            float(tree.threshold[i]),
            left,
            right,
            go_left,
            MISSING_NAN,
            -1,
        )
        return at

    roots = [add(tree, 0, what) for tree, what in trees]
    if name == "RandomForestClassifier":
        return nodes.forest(roots, average=True, float32=True)
    probe = np.zeros((1, model.n_features_in_))
    base = float(model._raw_predict_init(probe.astype(np.float32))[0, 0])
    return nodes.forest(
        roots, base=base, scale=float(model.learning_rate), float32=True, link="logit"
    )


# ── the files ────────────────────────────────────────────────────────────────────────


def compile_model(
    model: Any, inputs: list[str], task: str
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    compiler = _Compiler()
    spec = {"version": 1, "task": task, "inputs": list(inputs), "model": compiler.estimator(model)}
    return spec, compiler.arrays


def write_fast_files(
    model: Any, inputs: list[str], task: str, folder: Path, model_sha256: str = ""
) -> None:
    """Write ``fast.npz`` then ``fast.json`` (which names both hashes), each atomically.

    Raises :class:`Unsupported` before writing anything when a step has no fast path.
    """
    spec, arrays = compile_model(model, inputs, task)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    blob = buffer.getvalue()
    spec["arrays_sha256"] = hashlib.sha256(blob).hexdigest()
    spec["model_sha256"] = model_sha256
    for name, data in (
        (ARRAYS_FILE, blob),
        (SPEC_FILE, json.dumps(spec, ensure_ascii=False).encode()),
    ):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, folder / name)


def export_fast_path(folder: Path) -> str:
    """Compile the model in ``folder`` next to it; the path the service will take and why."""
    from ai_roadmap.artifacts import load_model

    try:
        model, card = load_model(folder)
    except ImportError as exc:  # a serve-only install cannot read the pipeline to compile it
        return f"pipeline (compiling needs {exc.name}: install ai-roadmap[classic])"
    try:
        write_fast_files(model, list(card.input_schema), card.task, folder, card.sha256)
    except Unsupported as exc:
        return f"pipeline ({exc})"
    return "fast"
