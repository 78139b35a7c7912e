"""PNG plots of a scored split, drawn with matplotlib's Agg renderer.

matplotlib is imported inside the functions (``import mlsys`` must stay fast) and figures are
built with ``matplotlib.figure.Figure`` directly, never ``pyplot``: no global figure registry,
no GUI backend, safe in a training process. Figures are small (``size`` inches at ``dpi``
dots per inch, 384 x 288 pixels by default) with few ticks, because every training run renders
them: one figure costs tens of milliseconds.

Every function takes true labels (0/1), calibrated probabilities and the path of the PNG to
write, and returns that path. Plots that need both classes raise :class:`~mlsys.errors.DataError`
when the labels hold one; :func:`plot_availability` says which can be drawn and why not.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlsys.errors import DataError
from mlsys.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mlsys.evaluation._bootstrap import ConfidenceInterval

__all__ = [
    "DEFAULT_DPI",
    "DEFAULT_SIZE",
    "PLOT_NAMES",
    "calibration_table",
    "gains_table",
    "plot_availability",
    "plot_calibration",
    "plot_confusion_matrix",
    "plot_feature_importance",
    "plot_gains_lift",
    "plot_precision_recall",
    "plot_roc",
    "plot_score_distribution",
    "plot_threshold_analysis",
    "threshold_table",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
Size = tuple[float, float]
#: Figure size in inches (width, height) and resolution: 384 x 288 pixels.
DEFAULT_SIZE: Size = (4.8, 3.6)
DEFAULT_DPI = 80
#: Plot names in report order; the PNG of plot ``name`` is ``<name>.png``.
PLOT_NAMES = (
    "roc",
    "precision_recall",
    "calibration",
    "gains_lift",
    "score_distribution",
    "threshold_analysis",
    "confusion_matrix",
)
_MODEL = "#1f5fa8"
_BASE = "#8c8c8c"
_GRID = "#e6e6e6"
_NEG = "#8fb3d9"
_POS = "#d9622b"
_MAX_POINTS = 400  # points per curve: more are invisible at 384 px and cost drawing time
_FONT = 8


def plot_availability(y: Any) -> dict[str, str | None]:
    """For each plot in :data:`PLOT_NAMES`, ``None`` if it can be drawn, else why not."""
    labels = np.asarray(y).astype(np.int64)
    positives = int(labels.sum())
    both = 0 < positives < len(labels)
    single = f"labels hold a single class ({positives} of {len(labels)} rows positive)"
    needs_both = None if both else f"{single}: the curve needs converters and non-converters"
    needs_pos = None if positives else f"{single}: it is measured against converters"
    return {
        "roc": needs_both,
        "precision_recall": needs_both,
        "calibration": None if len(labels) else "no rows",
        "gains_lift": needs_pos,
        "score_distribution": None if len(labels) else "no rows",
        "threshold_analysis": needs_pos,
        "confusion_matrix": None,
    }


def plot_roc(
    y: Any,
    probabilities: Any,
    path: str | Path,
    *,
    interval: ConfidenceInterval | None = None,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """ROC curve: share of converters found against share of non-converters contacted.

    Args:
        y: True labels, 0/1; both classes required.
        probabilities: Calibrated probabilities.
        path: PNG file to write.
        interval: Bootstrap interval of ROC-AUC, shown in the legend.
        size: Figure size in inches.
        dpi: Dots per inch.

    Example:
        >>> plot_roc([0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6], "/tmp/roc.png")  # doctest: +SKIP
    """
    labels, p = _both_classes(y, probabilities, "ROC curve")
    fpr, tpr = _roc_points(labels, p)
    auc = float(np.trapezoid(tpr, fpr))
    fig, ax = _figure(size, dpi)
    ax.plot(*_thin(fpr, tpr), color=_MODEL, lw=1.6, label=f"model, AUC {auc:.3f}{_ci(interval)}")
    ax.plot([0, 1], [0, 1], ls="--", color=_BASE, lw=1, label="random ranking, AUC 0.5")
    _unit_axes(ax, "False positive rate (non-converters contacted)", "True positive rate (recall)")
    _title(ax, "ROC curve")
    ax.legend(loc="lower right", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def plot_precision_recall(
    y: Any,
    probabilities: Any,
    path: str | Path,
    *,
    interval: ConfidenceInterval | None = None,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Precision against recall; the dashed line is the base rate (precision of random calls)."""
    labels, p = _both_classes(y, probabilities, "precision-recall curve")
    precision, recall = _precision_recall_points(labels, p)
    ap = float(-np.sum(np.diff(recall) * precision[:-1]))
    base = float(labels.mean())
    fig, ax = _figure(size, dpi)
    ax.step(
        *_thin(recall, precision),
        where="post",
        color=_MODEL,
        lw=1.6,
        label=f"model, AP {ap:.3f}{_ci(interval)}",
    )
    ax.axhline(base, ls="--", color=_BASE, lw=1, label=f"base rate {base:.3f}")
    _unit_axes(ax, "Recall (share of converters found)", "Precision (hit rate of calls)")
    _title(ax, "Precision-recall curve")
    ax.legend(loc="upper right", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def _roc_points(y: Any, probabilities: Any) -> tuple[FloatArray, FloatArray]:
    """False and true positive rates at every distinct score, from (0, 0) to (1, 1).

    The curve of scikit-learn's ``roc_curve(..., drop_intermediate=False)``, computed with
    numpy alone: the plots are drawn in a process that does not import scikit-learn.
    """
    tps, fps = _ranked_counts(y, probabilities)
    return np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]


def _precision_recall_points(y: Any, probabilities: Any) -> tuple[FloatArray, FloatArray]:
    """Precision and recall at every distinct score, lowest score first, then (1, 0).

    The curve of scikit-learn's ``precision_recall_curve(..., drop_intermediate=False)``.
    """
    tps, fps = _ranked_counts(y, probabilities)
    precision, recall = tps / (tps + fps), tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0]


def _ranked_counts(y: Any, probabilities: Any) -> tuple[FloatArray, FloatArray]:
    """Converters and non-converters scored at or above each distinct score, highest first.

    The caller has checked that both classes are present.
    """
    labels, p = _arrays(y, probabilities)
    order = np.argsort(-p, kind="mergesort")
    ranked = p[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # last row of each score
    tps = np.cumsum(labels[order], dtype=np.float64)[last]
    return tps, (last + 1) - tps


def calibration_table(y: Any, probabilities: Any, bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width probability bins: rows, mean predicted and observed conversion rate.

    Empty bins are left out. The bins match :func:`~mlsys.evaluation.expected_calibration_error`.
    """
    labels = np.asarray(y, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    rows = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=labels, minlength=bins)
    return [
        {
            "bin": b,
            "low": b / bins,
            "high": (b + 1) / bins,
            "rows": int(rows[b]),
            "mean_predicted": float(predicted[b] / rows[b]),
            "observed_rate": float(observed[b] / rows[b]),
        }
        for b in range(bins)
        if rows[b]
    ]


def plot_calibration(
    y: Any,
    probabilities: Any,
    path: str | Path,
    *,
    bins: int = 10,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Reliability curve: observed conversion rate against mean predicted probability per bin.

    Points on the diagonal are calibrated; marker area grows with the rows in the bin. The title
    carries the expected calibration error (row-weighted mean gap to the diagonal).
    """
    labels, p = _arrays(y, probabilities)
    if not len(labels):
        raise DataError("calibration plot: no rows to plot. Fix: pass a non-empty split.")
    table = calibration_table(labels, p, bins)
    # expected_calibration_error, from the same bins.
    ece = sum(r["rows"] * abs(r["mean_predicted"] - r["observed_rate"]) for r in table) / len(p)
    predicted = [r["mean_predicted"] for r in table]
    observed = [r["observed_rate"] for r in table]
    share = np.array([r["rows"] for r in table], dtype=np.float64) / len(labels)
    fig, ax = _figure(size, dpi)
    ax.plot([0, 1], [0, 1], ls="--", color=_BASE, lw=1, label="perfectly calibrated")
    ax.plot(predicted, observed, color=_MODEL, lw=1.2)
    ax.scatter(predicted, observed, s=12 + 200 * share, color=_MODEL, label="model (area: rows)")
    top = min(1.0, max(0.1, *predicted, *observed) * 1.05)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ticks = _nice(0, top, count=4)
    _axis_text(
        ax,
        x=ticks,
        y=ticks,
        xlabel="Mean predicted probability",
        ylabel="Observed conversion rate",
        fine=True,
    )
    _title(ax, f"Calibration: ECE {ece:.4f} over {bins} bins")
    ax.legend(loc="upper left", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def gains_table(y: Any, probabilities: Any, groups: int = 10) -> list[dict[str, Any]]:
    """Leads ranked by score and cut into ``groups`` equal parts (deciles by default).

    Each row: decile (1 = highest scores), rows, converters, conversion rate, lift (rate over
    the base rate; ``None`` without converters), cumulative share of leads and of converters
    (the gains curve). Ties are broken by row order, as in the top-k metrics.
    """
    labels, p = _arrays(y, probabilities)
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


def plot_gains_lift(
    y: Any,
    probabilities: Any,
    path: str | Path,
    *,
    size: Size = (7.2, 3.2),
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Two panels: cumulative gains (converters found against leads called) and lift by decile."""
    labels, p = _arrays(y, probabilities)
    if not labels.sum():
        raise DataError(
            "gains/lift plot: no converters in the labels, so there is nothing to find. "
            "Fix: evaluate on rows that include converters."
        )
    table = gains_table(labels, p)
    order = np.argsort(-p, kind="stable")
    found = np.r_[0.0, np.cumsum(labels[order]) / labels.sum()]
    called = np.linspace(0.0, 1.0, len(found))
    fig, (gain_ax, lift_ax) = _figure(size, dpi, columns=2)
    gain_ax.plot(*_thin(called, found), color=_MODEL, lw=1.6, label="model")
    gain_ax.plot([0, 1], [0, 1], ls="--", color=_BASE, lw=1, label="random order")
    _unit_axes(gain_ax, "Share of leads called", "Share of converters found")
    _title(gain_ax, "Cumulative gains")
    gain_ax.legend(loc="lower right", fontsize=_FONT - 1, frameon=False)
    deciles = [row["decile"] for row in table]
    lifts = [row["lift"] for row in table]
    lift_ax.bar(deciles, lifts, color=_MODEL, width=0.7)
    lift_ax.axhline(1.0, ls="--", color=_BASE, lw=1)
    lift_ax.set_xlim(0.4, len(deciles) + 0.6)
    top = max(1.0, *lifts) * 1.08
    lift_ax.set_ylim(0, top)
    _axis_text(
        lift_ax,
        x=deciles,
        y=_nice(0, top, count=3),
        xlabel="Decile (1 = highest scores)",
        ylabel="Lift over base rate",
        grid="y",
    )
    _title(lift_ax, "Lift by decile")
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.17, top=0.9, wspace=0.3)
    return _save(fig, path)


def plot_score_distribution(
    y: Any,
    probabilities: Any,
    path: str | Path,
    *,
    threshold: float | None = None,
    bins: int = 40,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Histogram of probabilities per class (each scaled to its own total), threshold marked."""
    labels, p = _arrays(y, probabilities)
    if not len(labels):
        raise DataError("score distribution: no rows to plot. Fix: pass a non-empty split.")
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig, ax = _figure(size, dpi)
    top = 0.0
    for value, color, name in ((0, _NEG, "not converted"), (1, _POS, "converted")):
        scores = p[labels == value]
        if len(scores):
            counts, _ = np.histogram(scores, bins=edges)
            top = max(top, float(counts.max()) / len(scores))
            ax.stairs(
                counts / len(scores),
                edges,
                fill=True,
                alpha=0.55,
                color=color,
                label=f"{name} ({len(scores):,})",
            )
    if threshold is not None:
        ax.axvline(threshold, color="black", lw=1, ls=":", label=f"threshold {threshold:.3f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, top * 1.1)
    _axis_text(
        ax,
        x=[0.0, 0.5, 1.0],
        y=_nice(0, top * 1.1, count=2),
        xlabel="Predicted probability",
        ylabel="Share of the class's rows",
        fine=True,
    )
    _title(ax, "Score distribution by class")
    ax.legend(loc="upper right", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def threshold_table(y: Any, probabilities: Any) -> dict[str, FloatArray]:
    """Precision, recall, F1 and share of leads called at every distinct threshold.

    Returns arrays keyed ``threshold``, ``precision``, ``recall``, ``f1``, ``called``,
    thresholds ascending; a lead is called when its probability is at least the threshold.
    """
    labels, p = _arrays(y, probabilities)
    order = np.argsort(-p, kind="stable")
    sorted_p = p[order]
    last = np.r_[sorted_p[1:] != sorted_p[:-1], True]  # last row of each run of ties
    tp = np.cumsum(labels[order])[last].astype(np.float64)
    called = (np.flatnonzero(last) + 1).astype(np.float64)
    total = float(labels.sum())
    precision = tp / called
    recall = tp / total if total else np.full_like(tp, np.nan)
    f1 = np.divide(2 * tp, called + total, out=np.zeros_like(tp), where=(called + total) > 0)
    return {
        "threshold": sorted_p[last][::-1],
        "precision": precision[::-1],
        "recall": recall[::-1],
        "f1": f1[::-1],
        "called": (called / len(labels))[::-1],
    }


def plot_threshold_analysis(
    y: Any,
    probabilities: Any,
    threshold: float,
    path: str | Path,
    *,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Precision, recall, F1 and share of leads called against the threshold; chosen one marked."""
    labels, p = _arrays(y, probabilities)
    if not labels.sum():
        raise DataError(
            "threshold analysis: no converters in the labels, so recall and F1 are undefined. "
            "Fix: evaluate on rows that include converters."
        )
    table = threshold_table(labels, p)
    t = table["threshold"]
    fig, ax = _figure(size, dpi)
    for key, color, name in (
        ("precision", _MODEL, "precision"),
        ("recall", _POS, "recall"),
        ("f1", "#2a9d5c", "F1"),
        ("called", _BASE, "share called"),
    ):
        # A threshold between two scores calls the same leads as the higher score: "pre" steps.
        ax.step(*_thin(t, table[key]), where="pre", color=color, lw=1.4, label=name)
    ax.axvline(threshold, color="black", lw=1, ls=":", label=f"chosen {threshold:.3f}")
    _unit_axes(ax, "Threshold (call a lead at or above it)", "Value")
    _title(ax, "Threshold analysis")
    ax.legend(loc="upper right", fontsize=_FONT - 1, framealpha=0.85, edgecolor="none")
    return _save(fig, path)


def plot_confusion_matrix(
    confusion: Mapping[str, int],
    path: str | Path,
    *,
    threshold: float | None = None,
    size: Size = (3.6, 3.0),
    dpi: int = DEFAULT_DPI,
) -> Path:
    """The 2 x 2 confusion matrix with counts and each cell's share of its true class.

    Args:
        confusion: ``{"tn", "fp", "fn", "tp"}`` counts, as in ``binary_metrics``.
        path: PNG file to write.
        threshold: Decision threshold, shown in the title.
        size: Figure size in inches.
        dpi: Dots per inch.
    """
    missing = {"tn", "fp", "fn", "tp"} - set(confusion)
    if missing:
        raise DataError(
            f"confusion matrix: counts {sorted(missing)} missing from {dict(confusion)}. "
            "Fix: pass binary_metrics(...)['confusion_matrix']."
        )
    cells = np.array(
        [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]], dtype=np.float64
    )
    totals = cells.sum(axis=1, keepdims=True)
    shares = np.divide(cells, totals, out=np.zeros_like(cells), where=totals > 0)
    fig, ax = _figure(size, dpi)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for (row, col), count in np.ndenumerate(cells):
        dark = shares[row, col] > 0.6
        ax.text(
            col,
            row,
            f"{int(count):,}\n{shares[row, col]:.1%}",
            ha="center",
            va="center",
            fontsize=_FONT + 1,
            color="white" if dark else "black",
        )
    _axis_text(
        ax,
        x=[0, 1],
        y=[0, 1],
        xlabels=["not called", "called"],
        ylabels=["not converted", "converted"],
        xlabel="Decision",
        ylabel="Outcome",
        grid="none",
    )
    title = "Confusion matrix" + (f" at {threshold:.3f}" if threshold is not None else "")
    _title(ax, title)
    fig.subplots_adjust(left=0.27, right=0.97, bottom=0.15, top=0.9)
    return _save(fig, path)


def plot_feature_importance(
    importance: Mapping[str, float],
    path: str | Path,
    *,
    title: str = "Feature importance",
    xlabel: str = "Importance",
    top: int = 15,
    size: Size | None = None,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Horizontal bars of the ``top`` largest importances (most important on top)."""
    if not importance:
        raise DataError("feature importance plot: no importances to plot.")
    items = sorted(importance.items(), key=lambda kv: -abs(kv[1]))[:top][::-1]
    height = max(2.0, 0.6 + 0.22 * len(items))
    fig, ax = _figure(size or (4.8, height), dpi)
    values = [v for _, v in items]
    ax.barh(range(len(items)), values, color=_MODEL, height=0.7)
    low, high = min(0.0, *values), max(0.0, *values) * 1.05 or 1.0
    ax.set_xlim(low, high)
    ax.set_ylim(-0.6, len(items) - 0.4)
    _axis_text(
        ax,
        x=_nice(low, high, count=3),
        y=list(range(len(items))),
        ylabels=[_short(k) for k, _ in items],
        xlabel=xlabel,
        grid="x",
    )
    _title(ax, title)
    fig.subplots_adjust(left=0.36, right=0.96, bottom=0.6 / height, top=1 - 0.3 / height)
    return _save(fig, path)


def _short(name: str, width: int = 26) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _ci(interval: ConfidenceInterval | None) -> str:
    if interval is None or interval.low is None or interval.high is None:
        return ""
    return f" [{interval.low:.3f}, {interval.high:.3f}]"


def _arrays(y: Any, probabilities: Any) -> tuple[np.ndarray[Any, Any], FloatArray]:
    labels = np.asarray(y).astype(np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    if labels.shape != p.shape:
        raise DataError(
            f"plots: {len(labels)} labels but {len(p)} probabilities. "
            "Fix: pass one probability per labelled row."
        )
    return labels, p


def _both_classes(y: Any, probabilities: Any, what: str) -> tuple[np.ndarray[Any, Any], FloatArray]:
    labels, p = _arrays(y, probabilities)
    reason = plot_availability(labels)["roc"]
    if reason:
        raise DataError(f"{what}: {reason}. Fix: evaluate on rows that include both classes.")
    return labels, p


def _thin(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> tuple[Any, Any]:
    """At most ``_MAX_POINTS`` points of a curve, always keeping both ends."""
    xs, ys = np.asarray(x), np.asarray(y)
    if len(xs) <= _MAX_POINTS:
        return xs, ys
    keep = np.unique(np.linspace(0, len(xs) - 1, _MAX_POINTS).astype(np.int64))
    return xs[keep], ys[keep]


_warmed: list[threading.Thread] = []


def prewarm() -> None:
    """Import matplotlib in a background thread, once, so the report does not wait for it.

    The training run calls this when it starts: importing matplotlib takes about half a
    second, which hides behind model fitting (native code that releases the GIL).
    """
    if not _warmed:
        thread = threading.Thread(target=_import_matplotlib, name="mlsys-prewarm", daemon=True)
        _warmed.append(thread)
        thread.start()


def _import_matplotlib() -> None:
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


def _figure(size: Size, dpi: int, columns: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi, facecolor="white")
    axes = fig.subplots(1, columns)
    if columns == 1:
        fig.subplots_adjust(left=0.14, right=0.97, bottom=0.15, top=0.9)
    return fig, axes


def _title(ax: Axes, text: str) -> None:
    # A plain text above the axes: Axes.set_title re-measures every tick label to dodge them,
    # about a tenth of a small figure's drawing time.
    ax.text(0.5, 1.025, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=_FONT + 1)


def _axis_text(
    ax: Axes,
    *,
    x: Sequence[float] = (),
    y: Sequence[float] = (),
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    grid: str = "both",
    fine: bool = False,
) -> None:
    """Tick labels, axis labels and grid lines drawn as plain text and line collections.

    matplotlib's tick machinery (five artists per tick, measured again on every draw) is
    about half of a small figure's drawing time; text at fixed positions looks the same. Ticks
    are given in data coordinates; ``grid`` is ``both``, ``x``, ``y`` or ``none``; ``fine``
    adds a grid line halfway between labelled ticks (each label is a costly text to draw).
    """
    from matplotlib.transforms import offset_copy

    fig = ax.get_figure(root=True)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    small = _FONT - 1
    x_labels = list(xlabels) if xlabels is not None else [_number(v) for v in x]
    y_labels = list(ylabels) if ylabels is not None else [_number(v) for v in y]
    below = offset_copy(ax.get_xaxis_transform(), fig=fig, y=-3, units="points")
    for value, text in zip(x, x_labels, strict=True):
        ax.text(value, 0, text, transform=below, ha="center", va="top", fontsize=small)
    left = offset_copy(ax.get_yaxis_transform(), fig=fig, x=-3, units="points")
    for value, text in zip(y, y_labels, strict=True):
        ax.text(0, value, text, transform=left, ha="right", va="center", fontsize=small)
    if grid in ("both", "x") and len(x):
        lines = _halves(x) if fine else x
        ax.vlines(lines, 0, 1, transform=ax.get_xaxis_transform(), colors=_GRID, lw=0.6, zorder=0)
    if grid in ("both", "y") and len(y):
        lines = _halves(y) if fine else y
        ax.hlines(lines, 0, 1, transform=ax.get_yaxis_transform(), colors=_GRID, lw=0.6, zorder=0)
    if xlabel:
        down = offset_copy(ax.transAxes, fig=fig, y=-(small + 7), units="points")
        ax.text(0.5, 0, xlabel, transform=down, ha="center", va="top", fontsize=_FONT)
    if ylabel:
        # Clear the widest tick label: about 0.6 em per character.
        width = max((len(t) for t in y_labels), default=0) * 0.6 * small + 7
        aside = offset_copy(ax.transAxes, fig=fig, x=-width, units="points")
        ax.text(
            0, 0.5, ylabel, transform=aside, ha="right", va="center", rotation=90, fontsize=_FONT
        )


def _halves(ticks: Sequence[float]) -> list[float]:
    values = sorted(ticks)
    return values + [(a + b) / 2 for a, b in itertools.pairwise(values)]


def _number(value: float) -> str:
    return f"{value:g}"


def _nice(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round tick values (multiples of 1, 2, 2.5 or 5 x 10^k) in [low, high]."""
    if not high > low:
        return [low]
    rough = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(rough))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= rough)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 10) + 0.0 for i in range(first, last + 1)]


def _unit_axes(ax: Axes, xlabel: str, ylabel: str) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ticks = [0.0, 0.5, 1.0]
    _axis_text(ax, x=ticks, y=ticks, xlabel=xlabel, ylabel=ylabel, fine=True)


def _save(fig: Figure, path: str | Path) -> Path:
    target = Path(path)
    with atomic_path(target) as tmp:
        # No "Software" text chunk: the same plot gives the same bytes on any matplotlib version.
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return target
