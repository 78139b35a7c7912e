"""PNG plots of a scored split, drawn with matplotlib's object API on the Agg canvas.

The plots only draw. Curves and tables come in computed (scikit-learn's ``roc_curve`` and
``precision_recall_curve``, :func:`~mlsys.evaluation.threshold_table`,
:func:`~mlsys.evaluation.gains_table`, :func:`~mlsys.evaluation.calibration_table`), and the
numbers in titles and legends (ROC-AUC, average precision, ECE) are the ones of
``metrics.json``, passed in: a picture cannot disagree with the metrics.

matplotlib is imported inside the functions (``import mlsys`` must stay fast) and figures are
``matplotlib.figure.Figure`` objects on a ``FigureCanvasAgg``, never ``pyplot``: no global
figure registry, no GUI backend, safe in a training process or a thread. Axes use matplotlib's
own locators and formatters.

Each function writes a PNG of ``size`` inches at ``dpi`` dots per inch (384 x 288 pixels by
default) and returns its path.

Example:
    >>> from sklearn.metrics import roc_curve
    >>> y, p = [0, 1, 0, 1], [0.1, 0.8, 0.3, 0.6]
    >>> fpr, tpr, _ = roc_curve(y, p)
    >>> auc = binary_metrics(y, p, 0.5)["roc_auc"]  # doctest: +SKIP
    >>> plot_roc(fpr, tpr, "/tmp/roc.png", auc=auc)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from mlsys.errors import DataError
from mlsys.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mlsys.evaluation._bootstrap import ConfidenceInterval

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
_Ticks = Literal["percent", "number", "keep"]


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
    fpr: Any,
    tpr: Any,
    path: str | Path,
    *,
    auc: float | None,
    interval: ConfidenceInterval | None = None,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """ROC curve: share of converters found against share of non-converters contacted.

    Args:
        fpr: False positive rates, from ``sklearn.metrics.roc_curve``.
        tpr: True positive rates, from the same call.
        path: PNG file to write.
        auc: ROC-AUC shown in the legend (``binary_metrics(...)["roc_auc"]``).
        interval: Bootstrap interval of ROC-AUC, shown in the legend.
        size: Figure size in inches.
        dpi: Dots per inch.
    """
    _require(auc, "ROC curve", "ROC-AUC")
    fig, ax = _figure(size, dpi)
    ax.plot(*_thin(fpr, tpr), color=_MODEL, lw=1.6, label=f"model, AUC {auc:.3f}{_ci(interval)}")
    ax.plot([0, 1], [0, 1], ls="--", color=_BASE, lw=1, label="random ranking, AUC 0.5")
    _unit_axes(ax, "False positive rate (non-converters contacted)", "True positive rate (recall)")
    ax.set_title("ROC curve", fontsize=_FONT + 1)
    ax.legend(loc="lower right", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def plot_precision_recall(
    precision: Any,
    recall: Any,
    path: str | Path,
    *,
    average_precision: float | None,
    base_rate: float,
    interval: ConfidenceInterval | None = None,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Precision against recall; the dashed line is the base rate (precision of random calls).

    The parameters follow :func:`plot_roc`'s (as scikit-learn's ``PrecisionRecallDisplay``
    follows ``RocCurveDisplay``): curve arrays in, the metric of ``metrics.json`` beside them.

    Args:
        precision: Precision per threshold, from ``sklearn.metrics.precision_recall_curve``.
        recall: Recall per threshold, from the same call.
        path: PNG file to write.
        average_precision: PR-AUC shown in the legend (``binary_metrics(...)["pr_auc"]``).
        base_rate: Share of converters (``positive_rate``).
        interval: Bootstrap interval of PR-AUC, shown in the legend.
        size: Figure size in inches.
        dpi: Dots per inch.
    """
    _require(average_precision, "precision-recall curve", "average precision")
    fig, ax = _figure(size, dpi)
    ax.step(
        *_thin(recall, precision),
        where="post",
        color=_MODEL,
        lw=1.6,
        label=f"model, AP {average_precision:.3f}{_ci(interval)}",
    )
    ax.axhline(base_rate, ls="--", color=_BASE, lw=1, label=f"base rate {base_rate:.3f}")
    _unit_axes(ax, "Recall (share of converters found)", "Precision (hit rate of calls)")
    ax.set_title("Precision-recall curve", fontsize=_FONT + 1)
    ax.legend(loc="upper right", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def plot_calibration(
    table: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    ece: float | None,
    bins: int = 10,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Reliability curve: observed conversion rate against mean predicted probability per bin.

    Points on the diagonal are calibrated; marker area grows with the rows in the bin.

    Args:
        table: Rows of :func:`~mlsys.evaluation.calibration_table`.
        path: PNG file to write.
        ece: Expected calibration error shown in the title (``binary_metrics(...)["ece"]``).
        bins: Bins of ``table``, for the title.
        size: Figure size in inches.
        dpi: Dots per inch.
    """
    _require(ece if table else None, "calibration plot", "ECE (no rows)")
    predicted = [r["mean_predicted"] for r in table]
    observed = [r["observed_rate"] for r in table]
    rows = np.array([r["rows"] for r in table], dtype=np.float64)
    share = rows / rows.sum()
    fig, ax = _figure(size, dpi)
    ax.plot([0, 1], [0, 1], ls="--", color=_BASE, lw=1, label="perfectly calibrated")
    ax.plot(predicted, observed, color=_MODEL, lw=1.2)
    ax.scatter(predicted, observed, s=12 + 200 * share, color=_MODEL, label="model (area: rows)")
    top = min(1.0, max(0.1, *predicted, *observed) * 1.05)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    _style(ax, "Mean predicted probability", "Observed conversion rate", x="percent", y="percent")
    ax.set_title(f"Calibration: ECE {ece:.4f} over {bins} bins", fontsize=_FONT + 1)
    ax.legend(loc="upper left", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def plot_gains_lift(
    thresholds: Mapping[str, FloatArray],
    gains: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    size: Size = (7.2, 3.2),
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Two panels: cumulative gains (converters found against leads called) and lift by decile.

    Args:
        thresholds: :func:`~mlsys.evaluation.threshold_table` of the split (its ``called``
            and ``recall`` are the gains curve).
        gains: Rows of :func:`~mlsys.evaluation.gains_table` (the lift per decile).
        path: PNG file to write.
        size: Figure size in inches.
        dpi: Dots per inch.
    """
    lifts = [row["lift"] for row in gains]
    if not lifts or None in lifts:
        raise DataError(
            "gains/lift plot: no converters in the labels, so there is nothing to find. "
            "Fix: evaluate on rows that include converters."
        )
    # Highest threshold first, from "call nobody" to "call everybody".
    called = np.r_[0.0, thresholds["called"][::-1]]
    found = np.r_[0.0, thresholds["recall"][::-1]]
    fig, (gain_ax, lift_ax) = _figure(size, dpi, columns=2)
    gain_ax.plot(*_thin(called, found), color=_MODEL, lw=1.6, label="model")
    gain_ax.plot([0, 1], [0, 1], ls="--", color=_BASE, lw=1, label="random order")
    _unit_axes(gain_ax, "Share of leads called", "Share of converters found")
    gain_ax.set_title("Cumulative gains", fontsize=_FONT + 1)
    gain_ax.legend(loc="lower right", fontsize=_FONT - 1, frameon=False)
    deciles = [row["decile"] for row in gains]
    lift_ax.bar(deciles, lifts, color=_MODEL, width=0.7)
    lift_ax.axhline(1.0, ls="--", color=_BASE, lw=1)
    lift_ax.set_xlim(0.4, len(deciles) + 0.6)
    lift_ax.set_ylim(0, max(1.0, *lifts) * 1.08)
    lift_ax.set_xticks(deciles)
    _style(lift_ax, "Decile (1 = highest scores)", "Lift over base rate", x="keep", grid="y")
    lift_ax.set_title("Lift by decile", fontsize=_FONT + 1)
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
    labels = np.asarray(y).astype(np.int64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    if labels.shape != p.shape or not len(labels):
        raise DataError(
            f"score distribution: {len(labels)} labels and {len(p)} probabilities. "
            "Fix: pass one probability per labelled row, at least one row."
        )
    edges = np.linspace(0.0, 1.0, bins + 1)
    fig, ax = _figure(size, dpi)
    for value, color, name in ((0, _NEG, "not converted"), (1, _POS, "converted")):
        scores = p[labels == value]
        if len(scores):
            counts, _ = np.histogram(scores, bins=edges)
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
    ax.set_ylim(0, None)
    _style(ax, "Predicted probability", "Share of the class's rows", x="percent", y="percent")
    ax.set_title("Score distribution by class", fontsize=_FONT + 1)
    ax.legend(loc="upper right", fontsize=_FONT - 1, frameon=False)
    return _save(fig, path)


def plot_threshold_analysis(
    table: Mapping[str, FloatArray],
    threshold: float,
    path: str | Path,
    *,
    size: Size = DEFAULT_SIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Precision, recall, F1 and share of leads called against the threshold; chosen one marked.

    Args:
        table: :func:`~mlsys.evaluation.threshold_table` of the split.
        threshold: The decision threshold in use.
        path: PNG file to write.
        size: Figure size in inches.
        dpi: Dots per inch.
    """
    if not len(table["recall"]) or np.isnan(table["recall"]).all():
        raise DataError(
            "threshold analysis: no converters in the labels, so recall and F1 are undefined. "
            "Fix: evaluate on rows that include converters."
        )
    fig, ax = _figure(size, dpi)
    for key, color, name in (
        ("precision", _MODEL, "precision"),
        ("recall", _POS, "recall"),
        ("f1", "#2a9d5c", "F1"),
        ("called", _BASE, "share called"),
    ):
        # A threshold between two scores calls the same leads as the higher score: "pre" steps.
        curve = _thin(table["threshold"], table[key])
        ax.step(*curve, where="pre", color=color, lw=1.4, label=name)
    ax.axvline(threshold, color="black", lw=1, ls=":", label=f"chosen {threshold:.3f}")
    _unit_axes(ax, "Threshold (call a lead at or above it)", "Value", percent=False)
    ax.set_title("Threshold analysis", fontsize=_FONT + 1)
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
        ax.text(
            col,
            row,
            f"{int(count):,}\n{shares[row, col]:.1%}",
            ha="center",
            va="center",
            fontsize=_FONT + 1,
            color="white" if shares[row, col] > 0.6 else "black",
        )
    ax.set_xticks([0, 1], ["not called", "called"])
    ax.set_yticks([0, 1], ["not converted", "converted"])
    _style(ax, "Decision", "Outcome", x="keep", y="keep", grid="none")
    title = "Confusion matrix" + (f" at {threshold:.3f}" if threshold is not None else "")
    ax.set_title(title, fontsize=_FONT + 1)
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
    ax.set_xlim(min(0.0, *values), max(0.0, *values) * 1.05 or 1.0)
    ax.set_ylim(-0.6, len(items) - 0.4)
    ax.set_yticks(range(len(items)), [_short(k) for k, _ in items])
    _style(ax, xlabel, "", y="keep", grid="x")
    ax.set_title(title, fontsize=_FONT + 1)
    fig.subplots_adjust(left=0.36, right=0.93, bottom=0.6 / height, top=1 - 0.3 / height)
    return _save(fig, path)


def _short(name: str, width: int = 26) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _ci(interval: ConfidenceInterval | None) -> str:
    if interval is None or interval.low is None or interval.high is None:
        return ""
    return f" [{interval.low:.3f}, {interval.high:.3f}]"


def _require(value: float | None, what: str, metric: str) -> None:
    if value is None:
        raise DataError(
            f"{what}: {metric} is undefined on these labels. Fix: evaluate on rows that "
            "include converters and non-converters (binary_metrics says why in "
            "'undefined_metrics')."
        )


def _thin(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> tuple[Any, Any]:
    """At most ``_MAX_POINTS`` points of a curve, always keeping both ends."""
    xs, ys = np.asarray(x), np.asarray(y)
    if len(xs) <= _MAX_POINTS:
        return xs, ys
    keep = np.unique(np.linspace(0, len(xs) - 1, _MAX_POINTS).astype(np.int64))
    return xs[keep], ys[keep]


def _figure(size: Size, dpi: int, columns: int = 1) -> tuple[Figure, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, columns)
    if columns == 1:
        fig.subplots_adjust(left=0.15, right=0.97, bottom=0.15, top=0.9)
    return fig, axes


def _style(
    ax: Axes,
    xlabel: str,
    ylabel: str,
    *,
    x: _Ticks = "number",
    y: _Ticks = "number",
    grid: Literal["both", "x", "y", "none"] = "both",
) -> None:
    """Axis labels, small tick labels and a light grid.

    ``x`` and ``y`` say how an axis is ticked: ``percent`` (shares, shown as %), ``number``
    (about four round values) or ``keep`` (ticks the caller has set).
    """
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    for axis, kind in ((ax.xaxis, x), (ax.yaxis, y)):
        if kind != "keep":
            axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        if kind == "percent":
            axis.set_major_formatter(PercentFormatter(xmax=1, decimals=None))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=_FONT - 1, length=2, pad=2)
    ax.set_xlabel(xlabel, fontsize=_FONT, labelpad=2)
    ax.set_ylabel(ylabel, fontsize=_FONT, labelpad=2)
    if grid != "none":
        ax.grid(True, axis=grid, color=_GRID, lw=0.6)
        ax.set_axisbelow(True)


def _unit_axes(ax: Axes, xlabel: str, ylabel: str, *, percent: bool = True) -> None:
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    kind: _Ticks = "percent" if percent else "number"
    _style(ax, xlabel, ylabel, x=kind, y=kind)


def _save(fig: Figure, path: str | Path) -> Path:
    target = Path(path)
    with atomic_path(target) as tmp:
        # No "Software" text chunk: the same plot gives the same bytes on any matplotlib version.
        fig.savefig(tmp, format="png", metadata={"Software": None})
    return target
