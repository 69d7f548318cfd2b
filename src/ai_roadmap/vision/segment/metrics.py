"""IoU and Dice per class from a confusion matrix.

``C[t, p]`` counts pixels of true class t predicted as p (``bincount(n·t + p)``). For
class c: TP = C[c, c], FP = Σ_t C[t, c] − TP, FN = Σ_p C[c, p] − TP, and

    IoU_c  = TP / (TP + FP + FN)        (Jaccard)
    Dice_c = 2 TP / (2 TP + FP + FN)    (F1 of the pixels; Dice = 2 IoU / (1 + IoU))

A class absent from both truth and prediction has 0/0: NaN, left out of the means.
mIoU is the mean over classes, background included (as in Pascal VOC), computed on the
confusion matrix summed over the whole split — not a mean of per-image scores.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(true: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n) int64 counts; labels outside 0 … n − 1 are an error."""
    t = np.asarray(true, np.int64).ravel()
    p = np.asarray(pred, np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"true and pred differ in size: {t.shape} vs {p.shape}")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ValueError(f"labels must lie in 0 … {n_classes - 1}")
    return np.bincount(n_classes * t + p, minlength=n_classes**2).reshape(n_classes, n_classes)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    return _ratio(tp, cm.sum(0) + cm.sum(1) - tp)


def dice_per_class(cm: np.ndarray) -> np.ndarray:
    tp = np.diag(cm).astype(np.float64)
    return _ratio(2 * tp, cm.sum(0) + cm.sum(1))


def pixel_accuracy(cm: np.ndarray) -> float:
    return float(np.trace(cm) / max(1, cm.sum()))


def summary(cm: np.ndarray, names: list[str]) -> dict[str, float]:
    """miou, mdice, pixel_accuracy, miou_objects (without background), iou_<c>, dice_<c>."""
    iou, dice = iou_per_class(cm), dice_per_class(cm)
    out = {
        "miou": float(np.nanmean(iou)),
        "mdice": float(np.nanmean(dice)),
        "miou_objects": float(np.nanmean(iou[1:])),
        "pixel_accuracy": pixel_accuracy(cm),
    }
    for name, i, d in zip(names, iou, dice, strict=True):
        out[f"iou_{name}"] = float(i)
        out[f"dice_{name}"] = float(d)
    return out
