"""Metrics a revenue team reads: ranking quality, calibration, and yield of the top leads.

Every function takes true labels (0/1) and calibrated probabilities. Ties in the ranking are
broken by row order (a stable sort), so top-k metrics are deterministic. These are the numbers
of ``metrics.json``; the plots and the HTML report show them, never a number of their own.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn import metrics as skm

__all__ = [
    "HEADLINE_METRICS",
    "binary_metrics",
    "calibration_table",
    "decision_metrics",
    "expected_calibration_error",
    "lift_at_k",
    "precision_at_k",
    "recall_at_k",
    "top_k_mask",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Labels = np.ndarray[Any, Any]


#: The metrics a person reads first, in this order: the training summary, ``ml-evaluate``'s
#: summary and ``ml-register compare`` all show these rows; all are in metrics.json.
HEADLINE_METRICS = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "precision_at_10pct",
    "recall_at_10pct",
    "lift_at_10pct",
    "precision",
    "recall",
    "f1",
)


def top_k_mask(scores: FloatArray, fraction: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Boolean mask of the ``ceil(fraction * n)`` highest-scored rows (ties by row order)."""
    order = _ranking(scores)
    mask = np.zeros(len(order), dtype=bool)
    mask[order[: _top_k(len(order), fraction)]] = True
    return mask


def precision_at_k(y: Labels, scores: FloatArray, fraction: float) -> float:
    """Share of converters among the top ``fraction`` of leads by score."""
    return _at_k(np.asarray(y), _ranking(scores), fraction)[0]


def recall_at_k(y: Labels, scores: FloatArray, fraction: float) -> float:
    """Share of all converters found in the top ``fraction`` of leads."""
    return _at_k(np.asarray(y), _ranking(scores), fraction)[1]


def lift_at_k(y: Labels, scores: FloatArray, fraction: float) -> float:
    """Precision in the top ``fraction`` divided by the base conversion rate."""
    labels = np.asarray(y)
    return _lift(labels, _at_k(labels, _ranking(scores), fraction)[0])


def _ranking(scores: FloatArray) -> np.ndarray[Any, Any]:
    """Row indices from the highest score down, ties in row order."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def _top_k(n: int, fraction: float) -> int:
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    # Round first: 0.07 * 100 is 7.000000000000001 in floating point, whose ceil is 8.
    return max(1, math.ceil(round(fraction * n, 9))) if n else 0


def _at_k(labels: Labels, order: np.ndarray[Any, Any], fraction: float) -> tuple[float, float]:
    """Precision and recall of the top ``fraction`` of ``order``; NaN where undefined."""
    top = labels[order[: _top_k(len(order), fraction)]]
    positives = labels.sum()
    precision = float(top.mean()) if len(top) else float("nan")
    return precision, float(top.sum() / positives) if positives else float("nan")


def _lift(labels: Labels, precision: float) -> float:
    base = float(labels.mean()) if len(labels) else float("nan")
    return precision / base if base else float("nan")


def calibration_table(y: Labels, probabilities: FloatArray, bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width probability bins: rows, mean predicted and observed conversion rate.

    Bin ``b`` holds the probabilities in ``[b / bins, (b + 1) / bins)``; 1.0 joins the last bin.
    Empty bins are left out. :func:`expected_calibration_error` is computed from these rows.

    Example:
        >>> [(r["bin"], r["rows"]) for r in calibration_table([0, 1, 1], [0.1, 0.15, 1.0])]
        [(1, 2), (9, 1)]
    """
    labels = np.asarray(y, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        in_bin = index == b
        rows = int(in_bin.sum())
        if rows:
            out.append(
                {
                    "bin": b,
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "rows": rows,
                    "mean_predicted": float(p[in_bin].mean()),
                    "observed_rate": float(labels[in_bin].mean()),
                }
            )
    return out


def expected_calibration_error(y: Labels, probabilities: FloatArray, n_bins: int = 10) -> float:
    """Row-weighted mean gap between predicted and observed rates over equal-width bins.

    scikit-learn's ``calibration_curve(strategy="uniform")`` returns the same gaps but not the
    rows per bin that weight them, and puts a probability on a bin edge in the lower bin (this
    ECE, since the first release, puts 0.1 in the bin [0.1, 0.2)); so the bins are
    :func:`calibration_table`'s, which the calibration plot draws too.
    """
    if len(probabilities) == 0:
        return float("nan")
    table = calibration_table(y, probabilities, n_bins)
    total = 0.0
    for row in table:
        total += row["rows"] * abs(row["mean_predicted"] - row["observed_rate"])
    return total / len(probabilities)


def decision_metrics(y: Labels, decisions: Labels) -> dict[str, Any]:
    """Precision, recall, F1 and the confusion matrix of 0/1 decisions, from scikit-learn.

    A ratio whose denominator is 0 is ``None``: precision when no lead is called, recall
    without converters, F1 when both are missing.

    Example:
        >>> m = decision_metrics([0, 1, 1, 0], [0, 1, 0, 1])
        >>> m["precision"], m["recall"], m["confusion_matrix"]
        (0.5, 0.5, {'tn': 1, 'fp': 1, 'fn': 1, 'tp': 1})
    """
    labels = np.asarray(y).astype(np.int64)
    called = np.asarray(decisions).astype(np.int64)
    if not len(labels):
        return {
            "precision": None,
            "recall": None,
            "f1": None,
            "confusion_matrix": {"tn": 0, "fp": 0, "fn": 0, "tp": 0},
        }
    tn, fp, fn, tp = (int(c) for c in skm.confusion_matrix(labels, called, labels=[0, 1]).ravel())
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        labels, called, average="binary", zero_division=np.nan
    )
    return {
        "precision": _defined(precision),
        "recall": _defined(recall),
        "f1": _defined(f1),
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }


def _defined(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


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
    callers have read since the first release). Precision is 0 when no lead reaches the
    threshold.

    Everything a library computes comes from scikit-learn (ROC-AUC, average precision, log
    loss, Brier score, the confusion matrix, precision, recall, F1); the top-k metrics (ties
    broken by row order) and the ECE (see :func:`expected_calibration_error`) are our own.

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
    order = _ranking(p)  # one sort for every top-k metric
    for fraction in top_fractions:
        precision, recall = _at_k(labels, order, fraction)
        out[f"precision_at_{_pct(fraction)}pct"] = precision if n else None
        out[f"recall_at_{_pct(fraction)}pct"] = recall if both else None
    lift = f"lift_at_{_pct(lift_fraction)}pct"
    out[lift] = _lift(labels, _at_k(labels, order, lift_fraction)[0]) if positives else None
    decided = decision_metrics(labels, decisions)
    cm = decided["confusion_matrix"]
    out.update(
        threshold=float(threshold),
        # No lead called: precision 0, as in every metrics.json so far (and scikit-learn's
        # zero_division=0); segments, which have no such history, report it as undefined.
        precision=decided["precision"] if decided["precision"] is not None else 0.0,
        recall=decided["recall"],
        f1=decided["f1"],
        accuracy=float((cm["tp"] + cm["tn"]) / n) if n else None,
        confusion_matrix=cm,
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
