"""Tables behind the report's plots: decisions at every threshold, and leads by score decile.

They are computed once per report and handed to the plots, which only draw. The metrics the
plots show (ROC-AUC, average precision, ECE) come from :func:`~mlsys.evaluation.binary_metrics`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

__all__ = ["gains_table", "threshold_table"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def threshold_table(y: Any, probabilities: Any) -> dict[str, FloatArray]:
    """Precision, recall, F1, share called and false positive rate at every distinct threshold.

    Read off scikit-learn's ``roc_curve(..., drop_intermediate=False)``: one row per distinct
    probability, thresholds ascending; a lead is called when its probability is at least the
    threshold. Recall (the true positive rate) is NaN without converters; the false positive
    rate is 0 without non-converters.

    Example:
        >>> table = threshold_table([0, 1, 1, 0], [0.1, 0.8, 0.4, 0.4])
        >>> table["threshold"].tolist(), table["precision"].tolist()
        ([0.1, 0.4, 0.8], [0.5, 0.6666666666666666, 1.0])
    """
    labels = np.asarray(y).astype(np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    with warnings.catch_warnings():
        # One class makes one of the two rates 0/0; the counts below do not need it.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        fpr, tpr, thresholds = skm.roc_curve(labels, p, drop_intermediate=False)
    # The first point is "call nobody" (threshold inf); then highest threshold first.
    tp = np.rint(np.nan_to_num(tpr[1:]) * positives)[::-1]
    fp = np.rint(np.nan_to_num(fpr[1:]) * negatives)[::-1]
    called = tp + fp
    return {
        "threshold": thresholds[1:][::-1].astype(np.float64),
        "precision": tp / called,
        "recall": tp / positives if positives else np.full_like(tp, np.nan),
        "f1": 2 * tp / (called + positives),
        "called": called / len(labels),
        "fpr": fp / negatives if negatives else np.zeros_like(fp),
    }


def gains_table(y: Any, probabilities: Any, groups: int = 10) -> list[dict[str, Any]]:
    """Leads ranked by score and cut into ``groups`` equal parts (deciles by default).

    Each row: decile (1 = highest scores), rows, converters, conversion rate, lowest score,
    lift (rate over the base rate; ``None`` without converters), cumulative share of leads and
    of converters (the gains curve). Ties are broken by row order, as in the top-k metrics.
    """
    labels = np.asarray(y).astype(np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    order = np.argsort(-p, kind="stable")
    total = int(labels.sum())
    base = total / len(labels) if len(labels) else 0.0
    out, seen, found = [], 0, 0
    for i, part in enumerate(np.array_split(order, groups), start=1):
        if not len(part):
            continue
        positives = int(labels[part].sum())
        seen += len(part)
        found += positives
        rate = positives / len(part)
        out.append(
            {
                "decile": i,
                "rows": len(part),
                "converters": positives,
                "conversion_rate": rate,
                "min_probability": float(p[part].min()),
                "lift": rate / base if base else None,
                "cumulative_leads": seen / len(labels),
                "cumulative_converters": found / total if total else None,
            }
        )
    return out
