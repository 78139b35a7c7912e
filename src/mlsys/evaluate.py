"""``python -m mlsys.evaluate`` (``ml-evaluate``): score a model on a labelled file, write a report.

    python -m mlsys.evaluate holdout.csv --out eval/                       # the champion
    python -m mlsys.evaluate q3_leads.parquet --out eval/ --model 3 --segment region --shap
    python -m mlsys.evaluate holdout.csv --out eval/ --model outputs/2026-11-26/10-00-00-000000

The file needs the model's feature columns and the label column the model was trained on
(``--target`` and ``--positive-label`` override). Rows are read and scored in chunks like
``python -m mlsys.predict``; rows without a label or with invalid values go to
``<out>/rejects.csv``. ``<out>`` then holds ``metrics.json``, ``classification_report.txt``,
``confusion_matrix.json``, the PNG plots, ``report.html`` (self-contained) and
``evaluation.json`` (rows, rejects, label counts, model, data quality). The evaluated rows are
checked against the model's training profile, on the scoring path ``ml-predict`` uses (the
same PSI for the same rows): ``data_quality.json``, ``data_quality.md`` and a section of
``report.html``. A file with a single class is evaluated: metrics that need both classes are
reported as undefined, with the reason.

Exit codes: 0 report written, 2 bad input or model (one message names the problem and the
fix), 3 ``--fail-on-drift`` and a data-quality alert fired (every file written; the alerts on
stderr), 1 anything else. ``--verbose`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from mlsys.errors import ConfigError, DataError, MlsysError, SchemaError
from mlsys.files import write_json
from mlsys.logs import configure_logging
from mlsys.predict import (
    CONF_EPILOG,
    add_drift_argument,
    add_model_arguments,
    cli_config,
    drift_exit,
)
from mlsys.scoring import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from mlsys.evaluation import Evaluator, ReportArtifacts, ReportOptions
    from mlsys.monitoring import DriftAccumulator, DriftReport
    from mlsys.scoring import ResolvedModel, TableReader

__all__ = ["EvaluationRun", "evaluate_file", "main"]

log = logging.getLogger("mlsys.evaluate")


@dataclass
class EvaluationRun:
    """What an evaluation read, rejected and wrote.

    Attributes:
        data: The labelled file.
        out_dir: The report folder.
        model: Provenance of the model (:meth:`ResolvedModel.info`).
        target: The label column.
        positive_label: The label value counted as converted.
        rows_in: Rows in the file (malformed CSV lines included).
        rows_scored: Rows scored and evaluated.
        rows_rejected: Rows in ``rejects.csv``.
        reject_reasons: Rejected rows per problem.
        labels: Scored rows per class (``{"1": 120, "0": 2880}``).
        seconds: Wall seconds of reading and scoring, and of the report.
        report: The report's files and values (``None`` in :meth:`to_dict`).
        data_quality: The evaluated rows against the model's training profile (``None``
            without one; :meth:`to_dict` then says why).
    """

    data: str
    out_dir: str
    model: dict[str, Any]
    target: str
    positive_label: str
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    report: ReportArtifacts | None = None
    data_quality: DriftReport | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, with the report's file names instead of the report."""
        from mlsys.scoring import quality_dict

        skip = ("report", "data_quality")
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["data_quality"] = quality_dict(self.data_quality)
        out["report"] = None
        if self.report is not None:
            out["report"] = {name: str(path) for name, path in self.report.files.items()}
            out["notes"] = list(self.report.notes)
        return out

    def render(self) -> str:
        """A short human-readable summary: rows, headline metrics with intervals, notes."""
        lines = [
            f"model              {self.model.get('label')}",
            f"rows               {self.rows_in:,} in, {self.rows_scored:,} evaluated, "
            f"{self.rows_rejected:,} rejected",
            f"labels             {self.target}: "
            + ", ".join(f"{k} x{v:,}" for k, v in sorted(self.labels.items())),
        ]
        if self.report is not None:
            from mlsys.evaluation import HEADLINE_METRICS

            metrics, intervals = self.report.metrics, self.report.intervals
            for name in HEADLINE_METRICS:
                value = metrics.get(name)
                interval = intervals.get(name)
                shown = "undefined" if value is None else f"{value:.4f}"
                if interval is not None and interval.low is not None and interval.high is not None:
                    shown += f"  [{interval.low:.4f}, {interval.high:.4f}]"
                lines.append(f"{name:<18} {shown}")
            lines += [f"note               {note}" for note in self.report.notes]
            lines.append(f"report             {self.report.html}")
        from mlsys.scoring import quality_verdict

        lines.append(quality_verdict(self.data_quality))
        return "\n".join(lines)


def _training_data_note(source: Path, model: ResolvedModel) -> list[str]:
    """A warning when the evaluated file is the one the model was trained on."""
    from mlsys.data import file_sha256

    trained_on = model.bundle.metadata.get("data", {}).get("sha256")
    if not trained_on or file_sha256(source) != trained_on:
        return []
    note = (
        f"'{source}' is the file this model was trained on (same sha256): most of its rows "
        "were used for fitting, validation or calibration, so these metrics overstate how the "
        "model does on new leads. Evaluate on rows it never saw (the run's test split is in "
        "its report/, or hold out newer leads)."
    )
    log.warning("%s", note)
    return [note]


def evaluate_file(
    data: str | Path,
    out_dir: str | Path,
    model: ResolvedModel,
    *,
    target: str | None = None,
    positive_label: str | None = None,
    threshold: float | None = None,
    options: ReportOptions | None = None,
    evaluator: Evaluator | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    sep: str = ",",
    na_values: Sequence[str] = (),
    progress: bool = False,
) -> EvaluationRun:
    """Score ``model`` on a labelled CSV or Parquet file and write the evaluation report.

    Args:
        data: Labelled file with the model's feature columns and the label column.
        out_dir: Report folder (created; files in it are overwritten).
        model: The model, from :func:`mlsys.scoring.resolve_model`.
        target: Label column; default: the one the model was trained on.
        positive_label: Label value meaning converted; default: the model's.
        threshold: Decision threshold for the confusion matrix; default: the model's.
        options: Report options (bootstrap, segments, SHAP, ...); default:
            ``evaluator.report``.
        evaluator: Metric settings (top fractions, lift fraction, calibration bins) and report
            options, as ``evaluation`` in ``conf/`` builds them; default:
            :class:`~mlsys.evaluation.Evaluator`'s.
        chunk_size: Rows read and scored at a time.
        sep: CSV separator.
        na_values: Extra strings meaning "missing" in a CSV.
        progress: Show a progress bar on stderr.

    Raises:
        SchemaError: Model or label columns missing, more than two label values, or a
            positive label that never occurs among two.
        DataError: No row with a label and valid values.

    Example:
        >>> from mlsys.scoring import resolve_model
        >>> run = evaluate_file("holdout.csv", "eval/", resolve_model())  # doctest: +SKIP
        >>> run.report.metrics["roc_auc"]  # doctest: +SKIP
        0.8361
    """
    from mlsys.evaluation import Evaluator, write_evaluation_report
    from mlsys.scoring import NO_PROFILE, drift_counter, open_table

    started = time.perf_counter()
    evaluator = evaluator or Evaluator()
    options = options or evaluator.report
    label_column, positive, cutoff = _label_settings(model, target, positive_label, threshold)
    source, out = Path(data), Path(out_dir)
    reader = open_table(source, chunk_size=chunk_size, sep=sep, na_values=na_values, what="data")
    if label_column not in reader.columns:
        raise SchemaError(
            f"--target: label column '{label_column}' is not in '{source}' (columns: "
            f"{reader.columns}). Fix: pass --target <label column>."
        )
    labels = _LabelEncoder(label_column, positive)
    drift = drift_counter(model.bundle)
    scored = _score_rows(reader, model, labels, options.segment_column, out, progress, drift)
    run = EvaluationRun(
        data=str(source),
        out_dir=str(out),
        model=model.info(),
        target=label_column,
        positive_label=positive,
        rows_in=len(scored.y) + scored.rejected,
        rows_scored=len(scored.y),
        rows_rejected=scored.rejected,
        reject_reasons=dict(scored.reasons.most_common()),
        data_quality=drift.report() if drift is not None else None,
    )
    if not len(scored.y) and scored.rejected:
        raise DataError(
            f"data: no row of '{source}' has a label and valid values ({scored.rejected} "
            f"rejected, reasons in {out / 'rejects.csv'}). Fix: correct the rows listed there."
        )
    if not len(scored.y):
        raise DataError(
            f"data: '{source}' has a header but no rows; there is nothing to evaluate. "
            "Fix: pass a file with labelled rows."
        )
    labels.check(source)
    run.labels = labels.counts(scored.y)
    run.seconds["score"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    run.report = write_evaluation_report(
        scored.y,
        scored.p,
        cutoff,
        out,
        frame=scored.frame,
        bundle=model.bundle,
        metadata={
            "name": model.bundle.metadata.get("name"),
            "version": model.label,
            "run_id": model.run_id,
            "source": model.source,
            "evaluated_on": str(source),
            "rows_rejected": run.rows_rejected,
        },
        options=options,
        evaluator=evaluator,
        notes=_training_data_note(source, model),
        data_quality=run.data_quality,
        data_quality_note=f"Data quality {NO_PROFILE}",
    )
    run.seconds["report"] = round(time.perf_counter() - started, 3)
    _write_quality(run, source, out)
    write_json(out / "evaluation.json", run.to_dict())
    return run


def _write_quality(run: EvaluationRun, source: Path, out: Path) -> None:
    """``data_quality.json`` and ``data_quality.md``, listed among the report's files."""
    from mlsys.files import write_text
    from mlsys.scoring import quality_dict, quality_markdown

    written = {
        "data_quality": write_json(out / "data_quality.json", quality_dict(run.data_quality)),
        "data_quality_md": write_text(
            out / "data_quality.md", quality_markdown(run.data_quality, source)
        ),
    }
    if run.report is not None:
        run.report.files.update(written)


def _label_settings(
    model: ResolvedModel,
    target: str | None,
    positive_label: str | None,
    threshold: float | None,
) -> tuple[str, str, float]:
    """Label column, positive label and threshold: the arguments, else the model's."""
    label_column = target or model.target
    if not label_column:
        raise ConfigError(
            "--target: the model does not record its label column. Fix: pass --target <column>."
        )
    positive = str(positive_label if positive_label is not None else model.positive_label or "1")
    cutoff = model.bundle.threshold if threshold is None else threshold
    if not 0.0 <= cutoff <= 1.0:
        raise ConfigError(f"--threshold: {cutoff} is not a probability. Fix: pass 0 <= t <= 1.")
    return label_column, positive, float(cutoff)


@dataclass
class _Scored:
    """Every evaluated row's label, probability and model inputs (plus the segment column)."""

    y: np.ndarray[Any, np.dtype[np.int8]]
    p: np.ndarray[Any, np.dtype[np.float64]]
    frame: pd.DataFrame
    rejected: int
    reasons: Counter[str]


def _score_rows(
    reader: TableReader,
    model: ResolvedModel,
    labels: _LabelEncoder,
    segment: str | None,
    out: Path,
    progress: bool,
    drift: DriftAccumulator | None = None,
) -> _Scored:
    """Validate and score the file chunk by chunk; rejected rows go to ``out/rejects.csv``.

    Metrics need every score, so labels, probabilities and model inputs are kept (about 130
    bytes a row for the leads schema); the file itself never is.
    """
    from mlsys.scoring import RowValidator, TableWriter, iter_scored

    schema = model.bundle.schema
    keep = [labels.column] + ([segment] if segment and segment != labels.column else [])
    validator = RowValidator(schema, required=[labels.column], keep=keep)
    validator.check_columns(reader, what="data")
    parts: dict[str, list[Any]] = {"y": [], "p": [], **{c: [] for c in schema.columns}}
    segments: list[pa.Array] = []
    reasons: Counter[str] = Counter()
    out.mkdir(parents=True, exist_ok=True)
    with TableWriter(out / "rejects.csv", validator.reject_schema, what="rejects") as rejects:
        chunks = iter_scored(reader, validator, model.bundle, progress, drift)
        for validated, probabilities in chunks:
            parts["y"].append(labels.encode(validated.kept[labels.column]))
            parts["p"].append(probabilities)
            for column, values in validated.columns.items():
                parts[column].append(values)
            if segment:
                segments.append(validated.kept[segment])
            rejects.write(validated.rejects)
            reasons.update(validated.reasons)
        rejects.commit()

    def joined(name: str, dtype: Any = None) -> np.ndarray[Any, Any]:
        return np.concatenate(parts[name]) if parts[name] else np.zeros(0, dtype=dtype)

    frame = pd.DataFrame({c: joined(c, object) for c in schema.columns})
    if segment and segment not in frame.columns:
        frame[segment] = pa.chunked_array(segments, type=reader.types[segment]).to_pandas()
    return _Scored(
        y=joined("y", np.int8),
        p=joined("p", np.float64),
        frame=frame,
        rejected=rejects.rows,
        reasons=reasons,
    )


class _LabelEncoder:
    """0/1 labels from a label column as read, by ``mlsys.data.LabelMatcher`` (the training rule).

    Numbers compare numerically (``1`` and ``1.0`` are one class); anything else compares as
    trimmed, case-insensitive text (``Yes`` and ``yes `` are one class).
    """

    def __init__(self, column: str, positive: str) -> None:
        from mlsys.data import LabelMatcher

        self.column = column
        self.matcher = LabelMatcher(positive)
        self.positive = self.matcher.positive

    @property
    def classes(self) -> dict[str, str]:
        """Matching key -> the value as the file spells it."""
        return self.matcher.classes

    def encode(self, values: pa.Array) -> np.ndarray[Any, np.dtype[np.int8]]:
        """1 where the value is the positive label; records the distinct values."""
        encoded = self.matcher.encode(values)
        if len(self.classes) > 2:
            raise SchemaError(
                f"--target: label column '{self.column}' has more than two values "
                f"({sorted(self.classes.values())[:10]}); mlsys evaluates binary conversion "
                "models. Fix: map it to two values, or pass the right --target."
            )
        return encoded

    def check(self, source: Path) -> None:
        """Refuse two classes of which neither is the positive label."""
        keys = set(self.classes)
        if len(keys) == 2 and self.matcher.positive_key not in keys:
            raise SchemaError(
                f"--positive-label: '{self.positive}' never occurs in '{self.column}' of "
                f"'{source}' (values: {sorted(self.classes.values())}). Fix: pass "
                "--positive-label <the converted value>."
            )
        if len(keys) == 1:
            log.warning(
                "'%s' holds a single class (%s) in %s: metrics that need both classes are "
                "reported as undefined.",
                self.column,
                next(iter(self.classes.values())),
                source,
            )

    def counts(self, y: np.ndarray[Any, Any]) -> dict[str, int]:
        """Rows per class, keyed ``"1"`` (positive) and ``"0"``."""
        positives = int(y.sum())
        return {"1": positives, "0": int(len(y) - positives)}


def _parser(cfg: DictConfig) -> argparse.ArgumentParser:
    """The options; every report default is the composed ``evaluation.report`` of ``cfg``."""
    report = cfg.evaluation.report
    parser = argparse.ArgumentParser(
        prog="python -m mlsys.evaluate",
        description="Score a model on a labelled CSV or Parquet file and write a report. The "
        "report settings without an option here (confidence, max_segments, importance_rows, "
        "dpi, ...) are evaluation.report.* in conf/.",
        epilog=CONF_EPILOG,
    )
    parser.add_argument("data", type=Path, help="labelled CSV or Parquet file")
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    add_model_arguments(parser, cfg)
    parser.add_argument("--target", default=None, help="label column (default: the model's)")
    parser.add_argument(
        "--positive-label", default=None, help="label value meaning converted (default: model's)"
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="decision threshold (default: the model's)"
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=report.bootstrap,
        help="resamples for ROC/PR-AUC intervals, 0: off (default, conf: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=report.seed,
        help="seed of bootstrap and sampling (default, conf: %(default)s)",
    )
    parser.add_argument(
        "--segment",
        default=report.segment_column,
        help="break metrics down by this column (default, conf segment_column: "
        f"{report.segment_column or 'none'})",
    )
    parser.add_argument(
        "--min-positives",
        type=int,
        default=report.min_positives,
        help="flag segments with fewer converters than this (default, conf: %(default)s)",
    )
    _switch(parser, "shap", report.shap, "SHAP values for tree models (costs seconds)", "--explain")
    _switch(parser, "importance", report.importance, "global feature importance")
    _switch(parser, "plots", report.plots, "PNG plots (without: metrics and HTML only)")
    parser.add_argument(
        "--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="rows read at a time"
    )
    parser.add_argument("--sep", default=",", help="CSV field separator")
    parser.add_argument(
        "--na-values", default="", help="extra comma-separated strings meaning missing in a CSV"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_drift_argument(parser)
    return parser


def _switch(
    parser: argparse.ArgumentParser, name: str, default: bool, what: str, *aliases: str
) -> None:
    """``--<name>`` / ``--no-<name>`` for the boolean ``evaluation.report.<name>``."""
    shown = "on" if default else "off"
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        f"--{name}",
        *aliases,
        dest=name,
        action="store_true",
        default=default,
        help=f"{what} (default, conf {name}: {shown})",
    )
    group.add_argument(f"--no-{name}", dest=name, action="store_false", help=f"skip --{name}")


def _evaluator(cfg: DictConfig, args: argparse.Namespace) -> Evaluator:
    """``cfg.evaluation`` built, its report settings overridden by the command line."""
    from omegaconf import OmegaConf

    from mlsys.config import instantiate_component

    given = {
        "bootstrap": args.bootstrap,
        "seed": args.seed,
        "segment_column": args.segment,
        "min_positives": args.min_positives,
        "shap": args.shap,
        "importance": args.importance,
        "plots": args.plots,
    }
    # Merged at the root, so that the report's ${seed}-style interpolations still resolve.
    merged = cast("DictConfig", OmegaConf.merge(cfg, {"evaluation": {"report": given}}))
    evaluator: Evaluator = instantiate_component(merged.evaluation, "evaluation")
    return evaluator


def main(argv: Sequence[str] | None = None) -> int:
    """Evaluate one file; returns the exit code."""
    try:
        cfg = cli_config()
    except MlsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = _parser(cfg).parse_args(argv)
    configure_logging("INFO" if args.verbose else "WARNING")  # the summary goes to stdout
    from mlsys.scoring import open_table

    try:
        # A bad data file fails before the model and report libraries load.
        open_table(args.data, chunk_size=args.chunk_size, sep=args.sep, what="data")
        from mlsys.scoring import resolve_model

        evaluator = _evaluator(cfg, args)
        model = resolve_model(args.model, name=args.name, tracking_uri=args.tracking_uri)
        if args.fail_on_drift:
            from mlsys.scoring import require_profile

            require_profile(model.bundle, model.label)
        run = evaluate_file(
            args.data,
            args.out,
            model,
            target=args.target,
            positive_label=args.positive_label,
            threshold=args.threshold,
            evaluator=evaluator,
            chunk_size=args.chunk_size,
            sep=args.sep,
            na_values=[v for v in args.na_values.split(",") if v],
            progress=sys.stderr.isatty() and not args.no_progress,
        )
    except MlsysError as exc:
        # The CLI contract that mlsys.predict.main keeps too: one error: line, exit code 2. A
        # helper both could call belongs with the scoring CLIs, which this change leaves alone.
        if args.verbose:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(run.render())
    return drift_exit(run.data_quality, args.fail_on_drift)


if __name__ == "__main__":
    raise SystemExit(main())
