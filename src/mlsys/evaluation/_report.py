"""The evaluation report: metrics, intervals, plots, segments and explanations in one folder.

:func:`write_evaluation_report` is the one entry point: the training run calls it for its test
split (``<run dir>/report/``), ``python -m mlsys.evaluate`` for any scored file. It writes
``metrics.json``, ``classification_report.txt``, ``confusion_matrix.json``, one PNG per plot and
a self-contained ``report.html`` (images inlined, no external assets) a scientist can send as
one file.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mlsys.errors import ConfigError, DataError, SchemaError
from mlsys.evaluation._bootstrap import ConfidenceInterval, bootstrap_intervals
from mlsys.evaluation._curves import gains_table
from mlsys.evaluation._evaluator import EvaluationReport, Evaluator
from mlsys.evaluation._plots import PLOT_NAMES
from mlsys.evaluation._records import ReportArtifacts, ReportOptions
from mlsys.evaluation._segments import SegmentReport, segment_breakdown
from mlsys.files import write_json, write_text
from mlsys.timing import Stopwatch

if TYPE_CHECKING:
    from mlsys.evaluation._explain import FeatureImportance, ShapSummary
    from mlsys.models import ModelBundle
    from mlsys.monitoring import DriftReport

__all__ = ["write_evaluation_report"]

log = logging.getLogger(__name__)


def write_evaluation_report(
    y: Any,
    probabilities: Any,
    threshold: float,
    out_dir: str | Path,
    *,
    frame: pd.DataFrame | None = None,
    bundle: ModelBundle | None = None,
    metadata: Mapping[str, Any] | None = None,
    options: ReportOptions | None = None,
    evaluator: Evaluator | None = None,
    notes: Sequence[str] = (),
    data_quality: DriftReport | None = None,
    data_quality_note: str | None = None,
) -> ReportArtifacts:
    """Evaluate scored rows and write the report folder.

    Args:
        y: True labels of the scored rows, 0/1.
        probabilities: Calibrated probabilities, one per row (``bundle.predict_proba``).
        threshold: Decision threshold (usually ``bundle.threshold``).
        out_dir: Folder to write into (created if missing; files in it are overwritten).
        frame: The scored rows as read (raw input columns plus any others, same order as
            ``y``); needed for segments, feature importance and SHAP.
        bundle: The model that produced ``probabilities``; needed for feature importance and
            SHAP, and fills the model section (name, class, trained at, data digest).
        metadata: Extra facts for the model section; ``name``, ``version``, ``run_id``,
            ``trained_at``, ``data_sha256``, ``model_class`` and ``source`` are recognised,
            any other key is shown as it is. They take precedence over the bundle's.
        options: What to compute beyond the headline metrics; defaults to
            ``evaluator.report`` or :class:`ReportOptions` defaults.
        evaluator: Metric settings (top fractions, lift fraction, calibration bins); the
            defaults of :class:`~mlsys.evaluation.Evaluator` if omitted.
        notes: Caveats of the caller's own, shown first among the report's notes.
        data_quality: The scored rows checked against the model's training profile
            (``ml-evaluate`` counts it on the scoring path): the page's data-quality section.
        data_quality_note: Why the section is empty, when ``data_quality`` is ``None``.

    Returns:
        The paths written and everything computed.

    Raises:
        DataError: No rows, or labels, probabilities and ``frame`` differ in length.
        ConfigError: A segment column is requested without ``frame``.
        SchemaError: The segment column is not in ``frame``.

    Example:
        >>> from mlsys.models import ModelBundle
        >>> bundle = ModelBundle.load("outputs/2026-11-26/10-00-00/model.joblib")  # doctest: +SKIP
        >>> rows = pd.read_csv("leads_2026.csv")  # doctest: +SKIP
        >>> report = write_evaluation_report(  # doctest: +SKIP
        ...     rows["converted"], bundle.predict_proba(rows), bundle.threshold, "eval/",
        ...     frame=rows, bundle=bundle, options=ReportOptions(segment_column="region"),
        ... )
        >>> report.html  # doctest: +SKIP
        PosixPath('eval/report.html')
    """
    evaluator = evaluator or Evaluator()
    options = options or evaluator.report
    labels, p = _check_inputs(y, probabilities, frame)
    segment_values = _segment_values(frame, options)  # a bad column fails before any work
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    watch = Stopwatch()
    notes = list(notes)
    with watch("metrics"):
        evaluation, intervals, files = _write_metrics(labels, p, threshold, out, evaluator, options)
        notes.extend(_metric_notes(evaluation.metrics, intervals))
        gains = gains_table(labels, p)
    plots: dict[str, Path] = {}
    if options.plots:
        with watch("plots"):
            plots = _draw_plots(
                labels,
                p,
                threshold,
                evaluation.metrics,
                intervals,
                gains,
                out,
                options,
                notes,
                bins=evaluator.calibration_bins,
            )
    files.update({_file_key(name): path for name, path in plots.items()})
    segments = _segments(labels, p, threshold, segment_values, options, out, files, notes, watch)
    importance = shap_summary = None
    if options.importance or options.shap:
        importance, shap_summary = _explain(labels, frame, bundle, options, out, files, watch)
        notes.extend(part.reason for part in (importance, shap_summary) if part and part.reason)
    facts = _model_facts(threshold, bundle, metadata)
    # One field per part, by keyword (like TrainingResult in mlsys.training): a record, not logic.
    artifacts = ReportArtifacts(
        out_dir=out,
        html=out / "report.html",
        metrics_json=files["metrics"],
        files=files,
        plots=plots,
        metrics=evaluation.metrics,
        intervals=intervals,
        classification_report=evaluation.classification_report,
        gains=gains,
        segments=segments,
        importance=importance,
        shap=shap_summary,
        notes=notes,
        seconds=watch.seconds,
        data_quality=data_quality,
        data_quality_note=data_quality_note,
    )
    with watch("html"):
        from mlsys.evaluation._html import render_html

        files["html"] = write_text(artifacts.html, render_html(artifacts, facts, options))
    _remove_stale(out, files)
    log.info(
        "Evaluation report: %s (%s)",
        artifacts.html,
        ", ".join(f"{k} {v:.2f}s" for k, v in watch.seconds.items()),
    )
    return artifacts


def _check_inputs(
    y: Any, probabilities: Any, frame: pd.DataFrame | None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.float64]]]:
    labels = np.asarray(y)
    p = np.asarray(probabilities, dtype=np.float64)
    if labels.ndim != 1 or len(labels) == 0:
        raise DataError(
            "evaluation: no labelled rows to evaluate. Fix: pass a file with at least one row."
        )
    if len(labels) != len(p) or (frame is not None and len(frame) != len(labels)):
        rows = "" if frame is None else f", {len(frame)} rows in frame"
        raise DataError(
            f"evaluation: {len(labels)} labels, {len(p)} probabilities{rows}. "
            "Fix: pass one probability (and one frame row) per label."
        )
    if pd.isna(labels).any() or not np.isin(labels, (0, 1)).all():
        raise DataError(
            "evaluation: labels must be 0/1 without missing values (got "
            f"{sorted(set(map(str, pd.unique(labels))))[:5]}). Fix: map the target to 0/1 first."
        )
    if not np.isfinite(p).all():
        raise DataError(
            "evaluation: probabilities hold NaN or infinite values. Fix: score with "
            "bundle.predict_proba on rows that pass the model's schema."
        )
    return labels.astype(np.int64), p


def _write_metrics(
    labels: np.ndarray[Any, Any],
    p: np.ndarray[Any, np.dtype[np.float64]],
    threshold: float,
    out: Path,
    evaluator: Evaluator,
    options: ReportOptions,
) -> tuple[EvaluationReport, dict[str, ConfidenceInterval], dict[str, Path]]:
    """Metrics with intervals, the classification report and the confusion matrix, on disk."""
    evaluation = evaluator.evaluate(labels, p, threshold)
    metrics = evaluation.metrics
    intervals = {}
    if options.bootstrap:
        intervals = bootstrap_intervals(
            labels,
            p,
            resamples=options.bootstrap,
            confidence=options.confidence,
            seed=options.seed,
            estimates=metrics,
        )
    ci = {k: v.to_dict() for k, v in intervals.items()}
    files = {
        "metrics": write_json(out / "metrics.json", {**metrics, "confidence_intervals": ci}),
        "classification_report": write_text(
            out / "classification_report.txt", evaluation.classification_report
        ),
        "confusion_matrix": write_json(
            out / "confusion_matrix.json",
            {**metrics["confusion_matrix"], "threshold": float(threshold), "rows": len(labels)},
        ),
    }
    return evaluation, intervals, files


#: Files a report may write besides the three always written; left-overs of an earlier
#: report in the same folder are removed so the folder never mixes two evaluations.
_OPTIONAL_FILES = (
    *(f"{name}.png" for name in PLOT_NAMES),
    "segments.json",
    "feature_importance.json",
    "feature_importance.png",
    "shap_summary.json",
    "shap_summary.png",
)


def _remove_stale(out: Path, files: Mapping[str, Path]) -> None:
    written = {path.name for path in files.values()}
    for name in _OPTIONAL_FILES:
        if name not in written:
            (out / name).unlink(missing_ok=True)


def _metric_notes(
    metrics: Mapping[str, Any], intervals: Mapping[str, ConfidenceInterval]
) -> list[str]:
    notes = [
        f"{name} is undefined: {reason}."
        for name, reason in metrics.get("undefined_metrics", {}).items()
    ]
    for interval in intervals.values():
        if interval.reason and interval.estimate is not None:
            notes.append(f"No interval for {interval.metric}: {interval.reason}.")
        elif interval.skipped and interval.estimate is not None:
            notes.append(
                f"{interval.skipped} of {interval.resamples} bootstrap resamples drew a single "
                f"class and were skipped; the {interval.metric} interval rests on the other "
                f"{interval.used}."
            )
    return notes


def _draw_plots(
    labels: np.ndarray[Any, Any],
    p: np.ndarray[Any, np.dtype[np.float64]],
    threshold: float,
    metrics: Mapping[str, Any],
    intervals: Mapping[str, ConfidenceInterval],
    gains: list[dict[str, Any]],
    out: Path,
    options: ReportOptions,
    notes: list[str],
    *,
    bins: int,
) -> dict[str, Path]:
    """The plots of :data:`PLOT_NAMES` the labels support; a note for each one they do not.

    Curves come from scikit-learn, once each, and every number a plot shows is the one of
    ``metrics``. Drawing happens here, in this thread: docs/DESIGN_DECISIONS.md has the
    measurement that made a pool not worth it.
    """
    from sklearn import metrics as skm

    from mlsys.evaluation import _plots
    from mlsys.evaluation._curves import threshold_table
    from mlsys.evaluation._metrics import calibration_table

    dpi = options.dpi
    table = functools.cache(lambda: threshold_table(labels, p))  # for two plots

    def roc(png: Path) -> Path:
        fpr, tpr, _ = skm.roc_curve(labels, p)
        auc, interval = metrics["roc_auc"], intervals.get("roc_auc")
        return _plots.plot_roc(fpr, tpr, png, auc=auc, interval=interval, dpi=dpi)

    def precision_recall(png: Path) -> Path:
        precision, recall, _ = skm.precision_recall_curve(labels, p)
        return _plots.plot_precision_recall(
            precision,
            recall,
            png,
            average_precision=metrics["pr_auc"],
            base_rate=metrics["positive_rate"],
            interval=intervals.get("pr_auc"),
            dpi=dpi,
        )

    draw: dict[str, Callable[[Path], Path]] = {
        "roc": roc,
        "precision_recall": precision_recall,
        "calibration": lambda png: _plots.plot_calibration(
            calibration_table(labels, p, bins), png, ece=metrics["ece"], bins=bins, dpi=dpi
        ),
        "gains_lift": lambda png: _plots.plot_gains_lift(table(), gains, png, dpi=dpi),
        "score_distribution": lambda png: _plots.plot_score_distribution(
            labels, p, png, threshold=threshold, dpi=dpi
        ),
        "threshold_analysis": lambda png: _plots.plot_threshold_analysis(
            table(), threshold, png, dpi=dpi
        ),
        "confusion_matrix": lambda png: _plots.plot_confusion_matrix(
            metrics["confusion_matrix"], png, threshold=threshold, dpi=dpi
        ),
    }
    drawn = {}
    for name, reason in _plots.plot_availability(labels).items():
        if reason:
            notes.append(f"The {_PLOT_TITLES.get(name, name)} plot is not drawn: {reason}.")
        else:
            drawn[name] = draw[name](out / f"{name}.png")
    return drawn


_PLOT_TITLES = {
    "roc": "ROC",
    "precision_recall": "precision-recall",
    "gains_lift": "gains and lift",
    "threshold_analysis": "threshold analysis",
    "score_distribution": "score distribution",
}


def _file_key(plot: str) -> str:
    # "confusion_matrix" names the JSON counts; its picture is "confusion_matrix_png".
    return f"{plot}_png" if plot == "confusion_matrix" else plot


def _segment_values(frame: pd.DataFrame | None, options: ReportOptions) -> pd.Series | None:
    """The segment column of the scored rows, or ``None`` without one; fails clearly."""
    column = options.segment_column
    if column is None:
        return None
    if frame is None:
        raise ConfigError(
            f"evaluation.report.segment_column='{column}' needs the scored rows. "
            "Fix: pass frame= to write_evaluation_report (the rows as read), or unset it."
        )
    if column not in frame.columns:
        raise SchemaError(
            f"evaluation.report.segment_column: column '{column}' is not in the scored rows "
            f"(columns: {list(map(str, frame.columns))}). Fix: name one of those columns."
        )
    return frame[column]


def _segments(
    labels: np.ndarray[Any, Any],
    p: np.ndarray[Any, Any],
    threshold: float,
    values: pd.Series | None,
    options: ReportOptions,
    out: Path,
    files: dict[str, Path],
    notes: list[str],
    watch: Stopwatch,
) -> SegmentReport | None:
    """The segment breakdown, written to ``segments.json``; ``None`` without a segment column."""
    if values is None:
        return None
    with watch("segments"):
        segments = segment_breakdown(
            values.to_numpy(),
            labels,
            p,
            threshold,
            column=str(values.name),
            max_segments=options.max_segments,
            min_positives=options.min_positives,
            min_negatives=options.min_negatives,
        )
        files["segments"] = write_json(
            files["metrics"].parent / "segments.json", segments.to_dict()
        )
        notes.extend(
            f"Segment '{s.segment}' of {segments.column}: {'; '.join(s.notes)}."
            for s in segments.segments
            if s.notes
        )
    return segments


def _explain(
    labels: np.ndarray[Any, Any],
    frame: pd.DataFrame | None,
    bundle: ModelBundle | None,
    options: ReportOptions,
    out: Path,
    files: dict[str, Path],
    watch: Stopwatch,
) -> tuple[FeatureImportance | None, ShapSummary | None]:
    from mlsys.evaluation import _explain as explain

    importance = shap_summary = None
    if options.importance:
        with watch("importance"):
            importance = explain.feature_importance(
                bundle,
                frame,
                labels,
                rows=options.importance_rows,
                repeats=options.importance_repeats,
                seed=options.seed,
            )
            if importance.values:
                plot: Callable[..., Path] = explain.plot_importance
                files.update(_json_and_png(importance, "feature_importance", plot, out, options))
    if options.shap:
        with watch("shap"):
            shap_summary = explain.shap_summary(
                bundle, frame, rows=options.shap_rows, seed=options.seed
            )
            if shap_summary.mean_abs:
                plot = explain.plot_shap_summary
                files.update(_json_and_png(shap_summary, "shap", plot, out, options))
    return importance, shap_summary


def _json_and_png(
    part: FeatureImportance | ShapSummary,
    key: str,
    plot: Callable[..., Path],
    out: Path,
    options: ReportOptions,
) -> dict[str, Path]:
    """The part's JSON under ``key`` and, with plots on, its PNG under ``<key>_png``."""
    stem = _STEMS.get(key, key)
    written = {key: write_json(out / f"{stem}.json", part.to_dict())}
    if options.plots:
        png = out / f"{stem}.png"
        written[f"{key}_png"] = plot(part, png, options.top_features, dpi=options.dpi)
    return written


#: File names of the parts whose ``files`` key differs from the name.
_STEMS = {"shap": "shap_summary"}


def _model_facts(
    threshold: float, bundle: ModelBundle | None, metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Rows of the report's model section, in display order."""
    facts: dict[str, Any] = {}
    if bundle is not None:
        meta = bundle.metadata
        data = meta.get("data") if isinstance(meta.get("data"), Mapping) else {}
        facts.update(
            name=meta.get("name"),
            model_class=type(bundle.model).__name__,
            calibration=type(bundle.calibrator).__name__,
            features=type(bundle.features).__name__,
            trained_at=meta.get("trained_at"),
            data_sha256=(data or {}).get("sha256"),
            training_data=(data or {}).get("source"),
            mlsys_version=meta.get("mlsys_version"),
        )
    facts.update(dict(metadata or {}))
    facts["threshold"] = float(threshold)
    facts["report_written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return {k: v for k, v in facts.items() if v is not None}
