"""Classification and regression metrics from scratch in NumPy, with sklearn's conventions.

Every function mirrors one of ``sklearn.metrics`` (same name, same positional
arguments, same conventions on ties, clipping and zero division); it is compared
with it to 1e-12 in ``tests/classic/test_metrics.py`` and, on seeded random and
edge cases, by :mod:`ai_roadmap.classic.metric_reference`.

* Ranking (binary y_true, real scores): ``roc_auc_score`` (Mann–Whitney with
  mid-ranks), ``roc_curve`` and its trapezoid ``roc_auc_trapezoid``,
  ``precision_recall_curve`` and ``average_precision_score`` (PR-AUC, step-wise).
* Labels: ``confusion_matrix``, ``f1_score`` (binary, macro, micro).
* Probabilities: ``cross_entropy`` and ``log_loss`` (clipped to [eps, 1 − eps]).
* Regression: ``mean_absolute_error``, ``root_mean_squared_error``,
  ``root_mean_squared_log_error``.

Deviations from scikit-learn 1.9 (on purpose): ``roc_auc_score`` and ``roc_curve``
raise ValueError when y_true holds one class (sklearn warns and returns NaN); the
functions take 1-D inputs only (no ``sample_weight``, no multi-output averaging).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

FLOAT_DTYPES = (np.float64, np.float32, np.float16)  # kept as given, like sklearn's check_array


# ---------------------------------------------------------------- input checks


def _as_1d(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: at least one sample is required")
    return array


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inconsistent numbers of samples: {lengths}")


def _labels(name: str, values: Any) -> np.ndarray:
    """Class labels: numbers or strings, never continuous floats."""
    y = _as_1d(name, values)
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        raise ValueError(f"{name} holds continuous values; classification metrics need labels")
    return y


def _scores(name: str, values: Any) -> np.ndarray:
    s = _as_1d(name, values).astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains NaN or infinity")
    return s


def _same_kind(*arrays: np.ndarray) -> None:
    kinds = {"string" if a.dtype.kind in "USO" else "number" for a in arrays}
    if len(kinds) > 1:
        raise ValueError("mix of label types (string and number)")


def _is_in(value: Any, labels: np.ndarray) -> bool:
    return any(label == value for label in labels.tolist())


# ---------------------------------------------------------------- ranking: ROC and PR


def _mid_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n ascending; a tied group at sorted positions a+1..b shares (a + 1 + b) / 2."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return ranks


def roc_auc_score(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve; the positive class is the greater of the two labels.

    AUC is the probability that a random positive outranks a random negative,
    ties counting one half (Hanley & McNeil 1982):

        AUC = 1/(n₊ n₋) Σ_{i ∈ +} Σ_{j ∈ −} [1(s_i > s_j) + ½ 1(s_i = s_j)] = U / (n₊ n₋).

    Mann–Whitney: rank all n scores ascending, a tied group sharing its mean
    rank (mid-rank). A positive's mid-rank is 1 + #{below} + ½ #{tied, others};
    summed over positives, the pairs of two positives contribute exactly
    1 + 2 + … + n₊ = n₊(n₊ + 1)/2, so with R₊ the positives' rank sum

        AUC = (R₊ − n₊(n₊ + 1)/2) / (n₊ n₋).

    The ROC trapezoid over distinct thresholds (sklearn's route, ``roc_auc_trapezoid``)
    is the same number: a group of tied scores holding Δfp negatives and Δtp
    positives adds Δfp/n₋ · (tp + ½ Δtp)/n₊, i.e. the pairs it beats plus half
    its internal ties. One class only → ValueError (AUC is undefined).
    """
    y, s = _labels("y_true", y_true), _scores("y_score", y_score)
    _same_length(y_true=y, y_score=s)
    classes = np.unique(y)
    if len(classes) != 2:
        raise ValueError(
            f"ROC AUC needs exactly two classes in y_true, got {len(classes)} ({classes[:5]}): "
            "with one class no positive/negative pair exists and the AUC is undefined"
        )
    positive = y == classes[1]
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    rank_sum = float(_mid_ranks(s)[positive].sum())  # half-integers: exact in float64
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _positive_mask(y: np.ndarray, pos_label: Any) -> np.ndarray:
    """sklearn's rule: with pos_label None, y_true must be in {0, 1} or {-1, 1}; 1 is positive."""
    classes = np.unique(y)
    if len(classes) > 2:
        raise ValueError(f"y_true must be binary, got {len(classes)} classes")
    if pos_label is None:
        values = set(classes.tolist()) if y.dtype.kind in "biuf" else {"not numeric"}
        if not (values <= {0, 1} or values <= {-1, 1}):
            raise ValueError(
                f"y_true takes values {classes.tolist()} and pos_label is not specified: "
                "use labels {0, 1} or {-1, 1}, or pass pos_label"
            )
        pos_label = 1
    return y == pos_label


def _threshold_counts(positive: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, ...]:
    """fps, tps: samples with score ≥ each distinct threshold, thresholds decreasing."""
    order = np.argsort(s, kind="stable")[::-1]  # descending score
    ordered, hits = s[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(ordered)), len(s) - 1]  # last sample of each tie group
    tps = np.cumsum(hits, dtype=np.float64)[last]
    fps = (last + 1) - tps
    return fps, tps, ordered[last]


def roc_curve(y_true: Any, y_score: Any, pos_label: Any = None) -> tuple[np.ndarray, ...]:
    """(fpr, tpr, thresholds) at every distinct score, = sklearn's ``drop_intermediate=False``.

    fpr_k = fp_k / n₋ and tpr_k = tp_k / n₊ count samples with score ≥ threshold_k;
    a first point (0, 0) is added at threshold +inf.
    """
    y, s = _labels("y_true", y_true), _scores("y_score", y_score)
    _same_length(y_true=y, y_score=s)
    positive = _positive_mask(y, pos_label)
    if positive.all() or not positive.any():
        raise ValueError("the ROC curve needs both positive and negative samples in y_true")
    fps, tps, thresholds = _threshold_counts(positive, s)
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def roc_auc_trapezoid(y_true: Any, y_score: Any) -> float:
    """ROC AUC by the trapezoid rule over ``roc_curve`` (equals the Mann–Whitney form)."""
    classes = np.unique(_labels("y_true", y_true))
    if len(classes) != 2:
        raise ValueError(f"ROC AUC needs exactly two classes in y_true, got {len(classes)}")
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=classes[1])
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def precision_recall_curve(
    y_true: Any, y_score: Any, pos_label: Any = None
) -> tuple[np.ndarray, ...]:
    """(precision, recall, thresholds), recall decreasing, ending at (recall 0, precision 1).

    P_k = tp_k / (tp_k + fp_k), R_k = tp_k / n₊ at each distinct threshold
    (sklearn's ``drop_intermediate=False``). With no positive at all, sklearn sets
    recall to 1 everywhere (and warns); so do we.
    """
    y, s = _labels("y_true", y_true), _scores("y_score", y_score)
    _same_length(y_true=y, y_score=s)
    fps, tps, thresholds = _threshold_counts(_positive_mask(y, pos_label), s)
    precision = tps / (tps + fps)  # tps + fps ≥ 1: every threshold is some sample's score
    if tps[-1] == 0:
        warnings.warn("no positive class in y_true: recall is set to 1", UserWarning, 2)
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision_score(y_true: Any, y_score: Any, pos_label: Any = 1) -> float:
    """PR-AUC as sklearn computes it: AP = Σ_k (R_k − R_{k−1}) P_k, thresholds decreasing.

    A step-wise sum with no interpolation: each recall increment is weighted by
    the precision reached there. It is neither the trapezoid under the PR curve
    (which linear interpolation makes optimistic) nor the 11-point interpolated
    AP of PASCAL VOC. Tied scores form one step.
    """
    y = _labels("y_true", y_true)
    classes = np.unique(y)
    if len(classes) > 2:
        raise ValueError(f"average precision here is binary; y_true has {len(classes)} classes")
    if len(classes) == 2 and not _is_in(pos_label, classes):
        raise ValueError(f"pos_label={pos_label!r} is not a valid label: use one of {classes}")
    precision, recall, _ = precision_recall_curve(y, y_score, pos_label=pos_label)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))  # −0.0 → 0.0


# ---------------------------------------------------------------- labels: confusion matrix, F1


def _index_of(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in ``labels``, −1 where absent."""
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    found = np.clip(np.searchsorted(ordered, values), 0, len(labels) - 1)
    return np.where(ordered[found] == values, order[found], -1)


def confusion_matrix(y_true: Any, y_pred: Any, labels: Any = None) -> np.ndarray:
    """C[i, j] = #{y_true = labels[i] and y_pred = labels[j]} (rows: truth, columns: prediction).

    ``labels`` (default: the sorted union of both) sets the order and the subset;
    samples whose truth or prediction is not in it are left out.
    """
    t, p = _labels("y_true", y_true), _labels("y_pred", y_pred)
    _same_length(y_true=t, y_pred=p)
    _same_kind(t, p)
    if labels is None:
        labels = np.union1d(t, p)
    else:
        labels = np.asarray(labels)
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label")
        _same_kind(t, labels)
        if not np.any(np.isin(t, labels)):
            raise ValueError("at least one label specified must be in y_true")
    rows, cols = _index_of(labels, t), _index_of(labels, p)
    kept = (rows >= 0) & (cols >= 0)
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(matrix, (rows[kept], cols[kept]), 1)
    return matrix


def _f1(tp: np.ndarray, true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    denominator = true + pred
    if np.any(denominator == 0):
        warnings.warn(
            "F1 is ill-defined (no true nor predicted samples): set to 0.0", UserWarning, 3
        )
    return np.where(denominator > 0, 2.0 * tp / np.maximum(denominator, 1), 0.0)


def f1_score(y_true: Any, y_pred: Any, average: str = "binary", pos_label: Any = 1) -> float:
    """F1 = 2PR/(P + R) = 2TP / (2TP + FP + FN), per label from the confusion matrix.

    ``binary``: F1 of ``pos_label``; ``macro``: the unweighted mean over the labels
    present in y_true or y_pred; ``micro``: F1 of the pooled counts — for
    single-label data ΣFP = ΣFN = n − ΣTP, so micro-F1 = accuracy. A label with
    2TP + FP + FN = 0 gets 0.0 and a warning: sklearn's default ``zero_division="warn"``.
    """
    if average not in ("binary", "macro", "micro"):
        raise ValueError(f"average must be 'binary', 'macro' or 'micro', got {average!r}")
    matrix = confusion_matrix(y_true, y_pred)
    labels = np.union1d(np.asarray(y_true), np.asarray(y_pred))
    tp, true, pred = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    if average == "binary":
        if len(labels) > 2:
            raise ValueError("target is multiclass but average='binary': use 'macro' or 'micro'")
        if not _is_in(pos_label, labels):
            if len(labels) == 2:
                raise ValueError(
                    f"pos_label={pos_label!r} is not a valid label: use one of {labels}"
                )
            tp = true = pred = np.zeros(1, dtype=np.int64)  # the positive class never occurs
        else:
            k = [label == pos_label for label in labels.tolist()].index(True)
            tp, true, pred = tp[k : k + 1], true[k : k + 1], pred[k : k + 1]
    elif average == "micro":
        tp, true, pred = tp.sum(keepdims=True), true.sum(keepdims=True), pred.sum(keepdims=True)
    return float(np.mean(_f1(tp, true, pred)))


# ---------------------------------------------------------------- probabilities: log-loss


def _probabilities(values: Any) -> np.ndarray:
    q = np.asarray(values)
    return q if q.dtype in FLOAT_DTYPES else q.astype(np.float64)


def cross_entropy(y_target: Any, y_proba: Any) -> float:
    """H(p, q) = −(1/n) Σ_i Σ_k p_ik log q_ik for target distributions p and predictions q.

    Shapes (n, K). H(p, q) = H(p) + KL(p ‖ q) ≥ H(p), so minimising it over q
    fits q to p. With one-hot targets p_ik = 1(y_i = k), H(p) = 0 and it is the
    log-loss: ``log_loss(y, Q) = cross_entropy(one_hot(y), Q)``. q is clipped to
    [eps, 1 − eps] with eps = ``np.finfo(q.dtype).eps`` (2.22e-16 in float64),
    exactly as scikit-learn's ``log_loss`` does, so that q = 0 gives a finite
    −log(eps) ≈ 36.04 rather than infinity.
    """
    p, q = np.asarray(y_target, dtype=np.float64), _probabilities(y_proba)
    if p.ndim != 2 or p.shape != q.shape or p.shape[0] == 0:
        raise ValueError(f"need two non-empty (n, K) arrays, got {p.shape} and {q.shape}")
    if np.any(p < 0) or np.any(q < 0) or np.any(q > 1):
        raise ValueError("probabilities must lie in [0, 1] (targets ≥ 0)")
    eps = np.finfo(q.dtype).eps
    q = np.clip(q, eps, 1 - eps)
    loss = -np.sum(p.astype(q.dtype) * np.log(q), axis=1)  # (n, K) -> (n,)
    return float(np.mean(loss))


def log_loss(y_true: Any, y_proba: Any, labels: Any = None) -> float:
    """Log-loss −(1/n) Σ_i log q_{i, y_i}: the mean negative log-likelihood of the labels.

    y_proba is (n, K), columns in sorted label order, or (n,) = P(greater label)
    for two classes, widened to [1 − q, q] before clipping (as sklearn does).
    Binary: −(1/n) Σ [y log q + (1 − y) log(1 − q)]. See ``cross_entropy`` for the clipping.
    """
    y, q = _labels("y_true", y_true), _probabilities(y_proba)
    _same_length(y_true=y, y_proba=q)
    if np.any(q > 1) or np.any(q < 0):
        raise ValueError("y_proba must lie in [0, 1]")
    classes = np.unique(y if labels is None else np.asarray(labels))
    if labels is not None and not np.all(np.isin(y, classes)):
        raise ValueError(f"y_true holds values not in labels {classes.tolist()}")
    if len(classes) < 2:
        raise ValueError(f"y_true holds one label ({classes}): pass all classes through labels")
    if q.ndim == 1:
        q = q[:, None]  # (n,) -> (n, 1)
    if q.shape[1] == 1:
        q = np.concatenate([1 - q, q], axis=1)  # (n, 1) -> (n, 2)
    if q.shape[1] != len(classes):
        raise ValueError(f"y_proba has {q.shape[1]} columns for {len(classes)} classes")
    if not np.allclose(q.sum(axis=1), 1, rtol=np.sqrt(np.finfo(q.dtype).eps), atol=0):
        warnings.warn("the y_proba rows do not sum to one", UserWarning, 2)
    one_hot = (y[:, None] == classes[None, :]).astype(np.float64)  # (n,) -> (n, K)
    return cross_entropy(one_hot, q)


# ---------------------------------------------------------------- regression


def _targets(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _scores("y_true", y_true), _scores("y_pred", y_pred)
    _same_length(y_true=t, y_pred=p)
    return t, p


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """MAE = (1/n) Σ |y_i − ŷ_i|."""
    t, p = _targets(y_true, y_pred)
    return float(np.mean(np.abs(p - t)))


def root_mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """RMSE = √((1/n) Σ (y_i − ŷ_i)²) ≥ MAE (the quadratic mean bounds the arithmetic one)."""
    t, p = _targets(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def root_mean_squared_log_error(y_true: Any, y_pred: Any) -> float:
    """RMSLE = RMSE(log(1 + y), log(1 + ŷ)): relative errors, for targets > −1.

    log1p needs 1 + y > 0; like scikit-learn ≥ 1.6 we refuse any value ≤ −1
    (older versions refused every negative value).
    """
    t, p = _targets(y_true, y_pred)
    if np.any(t <= -1) or np.any(p <= -1):
        raise ValueError(
            "RMSLE cannot be used when targets contain values less than or equal to -1"
        )
    return root_mean_squared_error(np.log1p(t), np.log1p(p))
