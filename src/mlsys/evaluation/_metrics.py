"""Metrics a revenue team reads: ranking quality, calibration, and yield of the top leads.

Every function takes true labels (0/1) and calibrated probabilities. Ties in the ranking are
broken by row order (a stable sort), so top-k metrics are deterministic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn import metrics as skm

__all__ = [
    "HEADLINE_METRICS",
    "binary_metrics",
    "expected_calibration_error",
    "lift_at_k",
    "precision_at_k",
    "recall_at_k",
    "top_k_mask",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Labels = np.ndarray[Any, Any]


#: The metrics a person reads first (CLI summaries, version comparisons); all are in metrics.json.
HEADLINE_METRICS = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "precision_at_10pct",
    "lift_at_10pct",
)


def top_k_mask(scores: FloatArray, fraction: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Boolean mask of the ``ceil(fraction * n)`` highest-scored rows (ties by row order)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    n = len(scores)
    # Round first: 0.07 * 100 is 7.000000000000001 in floating point, whose ceil is 8.
    k = max(1, math.ceil(round(fraction * n, 9))) if n else 0
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def precision_at_k(y: Labels, scores: FloatArray, fraction: float) -> float:
    """Share of converters among the top ``fraction`` of leads by score."""
    mask = top_k_mask(scores, fraction)
    return float(np.asarray(y)[mask].mean()) if mask.any() else float("nan")


def recall_at_k(y: Labels, scores: FloatArray, fraction: float) -> float:
    """Share of all converters found in the top ``fraction`` of leads."""
    labels = np.asarray(y)
    positives = labels.sum()
    if positives == 0:
        return float("nan")
    return float(labels[top_k_mask(scores, fraction)].sum() / positives)


def lift_at_k(y: Labels, scores: FloatArray, fraction: float) -> float:
    """Precision in the top ``fraction`` divided by the base conversion rate."""
    base = float(np.asarray(y).mean()) if len(y) else float("nan")
    if not base:
        return float("nan")
    return precision_at_k(y, scores, fraction) / base


def expected_calibration_error(y: Labels, probabilities: FloatArray, n_bins: int = 10) -> float:
    """Row-weighted mean gap between predicted and observed rates over equal-width bins."""
    labels = np.asarray(y, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    if len(p) == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            total += in_bin.sum() * abs(p[in_bin].mean() - labels[in_bin].mean())
    return float(total / len(p))


def _pct(fraction: float) -> str:
    return f"{round(fraction * 100):d}"


def binary_metrics(
    y: Labels,
    probabilities: FloatArray,
    threshold: float,
    top_fractions: tuple[float, ...] = (0.05, 0.1, 0.2),
    lift_fraction: float = 0.1,
    calibration_bins: int = 10,
) -> dict[str, Any]:
    """All headline metrics for one split, JSON-friendly.

    A metric that cannot be computed on these labels is ``None`` (never NaN, so
    ``metrics.json`` stays strict JSON), and ``undefined_metrics`` maps its name to the reason.
    ROC-AUC, PR-AUC and recall@k need both classes; lift and recall need positives. When the
    labels hold a single class, ``undefined`` also summarises it in one sentence (the key
    callers have read since the first release).

    Example:
        >>> m = binary_metrics([0, 1, 0], [0.2, 0.9, 0.4], threshold=0.5)
        >>> m["roc_auc"], m["confusion_matrix"]["tp"]
        (1.0, 1)
    """
    labels = np.asarray(y).astype(np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    n = len(labels)
    positives = int(labels.sum())
    both = 0 < positives < n
    undefined = _undefined_reasons(n, positives, top_fractions, lift_fraction)
    decisions = (p >= threshold).astype(np.int64)
    out: dict[str, Any] = {
        "n_rows": n,
        "positive_rate": float(labels.mean()) if n else None,
        "roc_auc": float(skm.roc_auc_score(labels, p)) if both else None,
        "pr_auc": float(skm.average_precision_score(labels, p)) if both else None,
        "log_loss": float(skm.log_loss(labels, p, labels=[0, 1])) if n else None,
        "brier": float(skm.brier_score_loss(labels, p, pos_label=1)) if n else None,
        "ece": expected_calibration_error(labels, p, calibration_bins) if n else None,
    }
    for fraction in top_fractions:
        out[f"precision_at_{_pct(fraction)}pct"] = (
            precision_at_k(labels, p, fraction) if n else None
        )
        out[f"recall_at_{_pct(fraction)}pct"] = recall_at_k(labels, p, fraction) if both else None
    lift = f"lift_at_{_pct(lift_fraction)}pct"
    out[lift] = lift_at_k(labels, p, lift_fraction) if positives else None
    called, converted = decisions == 1, labels == 1
    tp, fp = int((called & converted).sum()), int((called & ~converted).sum())
    fn, tn = int((~called & converted).sum()), int((~called & ~converted).sum())
    out.update(
        threshold=float(threshold),
        precision=float(tp / (tp + fp)) if tp + fp else 0.0,
        recall=float(tp / (tp + fn)) if tp + fn else None,
        f1=float(2 * tp / (2 * tp + fp + fn)) if tp + fp + fn else None,
        accuracy=float((tp + tn) / n) if n else None,
        confusion_matrix={"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    )
    if out["f1"] is None:
        undefined.setdefault("f1", "no converters and no lead called: F1 is 0/0")
    if not both:
        out["undefined"] = (
            "labels hold a single class: ROC-AUC, PR-AUC and recall need both"
            if n
            else "no rows to evaluate"
        )
    if undefined:
        out["undefined_metrics"] = {k: undefined[k] for k in out if k in undefined}
    return out


def _undefined_reasons(
    n: int, positives: int, top_fractions: tuple[float, ...], lift_fraction: float
) -> dict[str, str]:
    """Why each metric that cannot be computed on these labels is undefined."""
    if n == 0:
        names = ["positive_rate", "roc_auc", "pr_auc", "log_loss", "brier", "ece", "accuracy"]
        names += [f"precision_at_{_pct(f)}pct" for f in top_fractions]
        names += [f"recall_at_{_pct(f)}pct" for f in top_fractions]
        names += [f"lift_at_{_pct(lift_fraction)}pct", "recall", "f1"]
        return dict.fromkeys(names, "no rows to evaluate")
    if 0 < positives < n:
        return {}
    only = "no converters (every label is 0)" if positives == 0 else "only converters"
    both = f"{only} among {n} rows; it needs converters and non-converters"
    out = dict.fromkeys(["roc_auc", "pr_auc"], both)
    out.update(dict.fromkeys([f"recall_at_{_pct(f)}pct" for f in top_fractions], both))
    if positives == 0:
        out[f"lift_at_{_pct(lift_fraction)}pct"] = (
            f"{only} among {n} rows; lift divides by the base rate, 0"
        )
        out["recall"] = f"{only} among {n} rows; recall divides by the number of converters, 0"
    return out
