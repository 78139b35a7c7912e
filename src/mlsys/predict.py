"""``python -m mlsys.predict`` (``ml-predict``): score a CSV or Parquet file of any size.

    python -m mlsys.predict new_leads.csv -o scores.csv                    # the champion
    python -m mlsys.predict new_leads.parquet -o scores.parquet --model 3  # registry version 3
    python -m mlsys.predict leads.csv -o s.csv --model outputs/2026-11-26/10-00-00-000000
    python -m mlsys.predict crm.leads -o s3://lake/scores.parquet --engine spark  # a Spark table

Reads the input in chunks (``--chunk-size`` rows), checks every row against the model's
schema, and writes the id column (or ``row``), ``probability``, ``decision`` and
``model_version``. Rejected rows go to ``<output stem>.rejects.csv`` with the reason. A file
with a header and no rows gives an empty output and a summary of 0 rows. The scored rows are
checked against the model's training profile: the data-quality section (PSI, values out of
range, unseen levels, missing rates, with counts) goes to ``<output stem>.quality.md`` and the
``--summary-json``, and its verdict is the summary's last line.

Exit codes: 0 scored (rejects included: see the summary), 2 bad input or model (one message
names the problem and the fix), 3 ``--fail-on-drift`` and a data-quality alert fired (every
output written; the alerts on stderr), 1 anything else. ``--verbose`` shows tracebacks.

``--engine spark`` scores on Apache Spark (``mlsys.scoring.spark``, needs the ``spark``
dependency group and Java 17): the input is a CSV/Parquet path (file or directory, local or
``s3://``...) or, when it has no ``/`` and no such extension, a table of the Spark catalog
(``crm.leads``); the outputs are directories of part files; rows are identified by the id column.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlsys.errors import ConfigError, MlsysError
from mlsys.logs import configure_logging
from mlsys.scoring import DEFAULT_CHUNK_SIZE

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from mlsys.monitoring import DriftReport

__all__ = ["add_drift_argument", "add_model_arguments", "cli_config", "drift_exit", "main"]

#: Said in ``--help`` of both scoring command lines.
CONF_EPILOG = (
    "Defaults marked 'conf' come from the composed conf/ (conf/train.yaml and its groups; "
    "MLSYS_CONFIG_DIR points at another conf/), as for python -m mlsys.train."
)

log = logging.getLogger("mlsys.predict")


def cli_config() -> DictConfig:
    """The composed ``conf/`` whose values are the scoring command lines' defaults.

    The same composition as ``python -m mlsys.train`` with no overrides, so the registered model
    name, the tracking store and the report settings agree with training.

    Raises:
        ConfigError: ``conf/`` is missing or does not compose.
    """
    from mlsys.config import compose_config

    return compose_config()


def add_model_arguments(parser: argparse.ArgumentParser, cfg: DictConfig) -> None:
    """``--model``, ``--name`` and ``--tracking-uri``: the options both scoring CLIs share.

    Args:
        parser: The command line's parser.
        cfg: The composed ``conf/`` (:func:`cli_config`): ``name`` and ``tracker.uri`` are the
            defaults of ``--name`` and ``--tracking-uri``.
    """
    parser.add_argument(
        "--model",
        default="champion",
        help="champion (default) or another alias, a registry version (3, models:/name/3), "
        "a run (runs:/<id> or the id), a model.joblib or a training run directory",
    )
    parser.add_argument(
        "--name",
        default=cfg.name,
        help="registered model name (default, conf name: %(default)s)",
    )
    parser.add_argument(
        "--tracking-uri",
        default=cfg.tracker.get("uri"),
        help=f"MLflow store (default, conf tracker.uri: {cfg.tracker.get('uri') or 'null'}; "
        "when null: MLFLOW_TRACKING_URI, else outputs/mlflow.db)",
    )
    parser.add_argument("--verbose", action="store_true", help="log details, show tracebacks")


def add_drift_argument(parser: argparse.ArgumentParser) -> None:
    """``--fail-on-drift``: the option both scoring CLIs share."""
    parser.add_argument(
        "--fail-on-drift",
        action="store_true",
        help="exit 3 when the data-quality check raises an alert (every output is still "
        "written; the alerts go to stderr); a model without a training profile is an error",
    )


def drift_exit(report: DriftReport | None, fail_on_drift: bool) -> int:
    """The exit code of a finished run: 3 with ``--fail-on-drift`` and an alert, else 0.

    The alerts go to stderr, one ``drift:`` line each.
    """
    from mlsys.scoring import DRIFT_EXIT_CODE

    if not fail_on_drift or report is None or not report.drifted:
        return 0
    for alert in report.alerts:
        if alert.severity == "alert":
            print(f"drift: {alert.message}", file=sys.stderr)
    return DRIFT_EXIT_CODE


def _parser(cfg: DictConfig) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlsys.predict",
        description="Score a CSV or Parquet file with a registered or saved model.",
        epilog=CONF_EPILOG,
    )
    parser.add_argument(
        "input", help="CSV (.csv, .csv.gz, ...) or Parquet file; with --engine spark, a table too"
    )
    parser.add_argument("-o", "--output", required=True, help="scores file: .csv or .parquet")
    add_model_arguments(parser, cfg)
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"rows per chunk (bounds memory; default {DEFAULT_CHUNK_SIZE:,})",
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="decision threshold (default: the model's)"
    )
    parser.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local (default): this process, in chunks; spark: the SparkSession's cluster",
    )
    parser.add_argument(
        "--rejects",
        default=None,
        help="rejected rows (default: <output stem>.rejects.csv)",
    )
    parser.add_argument("--summary-json", type=Path, default=None, help="also write the summary")
    add_drift_argument(parser)
    parser.add_argument(
        "--id-column", default=None, help="column identifying a row (default: the model's)"
    )
    parser.add_argument("--sep", default=",", help="CSV field separator of the input")
    parser.add_argument(
        "--na-values",
        default="",
        help="extra comma-separated strings meaning missing in a CSV (pandas' defaults apply)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar even on a terminal"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Score one file; returns the exit code."""
    try:
        cfg = cli_config()
    except MlsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args = _parser(cfg).parse_args(argv)
    configure_logging("INFO" if args.verbose else "WARNING")  # the summary goes to stdout
    from mlsys.scoring import open_table, output_format

    na_values = [v for v in args.na_values.split(",") if v]
    try:
        if args.engine == "spark":
            if args.fail_on_drift:
                raise ConfigError(
                    "--fail-on-drift: --engine spark does not check data quality yet. Fix: "
                    "score with --engine local, or drop --fail-on-drift."
                )
            from mlsys.scoring.spark import score_path

            summary = score_path(
                args.input,
                args.output,
                args.model,
                rejects=args.rejects,
                threshold=args.threshold,
                id_column=args.id_column,
                name=args.name,
                tracking_uri=args.tracking_uri,
                sep=args.sep,
                na_values=na_values,
            )
            if args.summary_json is not None:
                summary.write_json(args.summary_json)
            print(summary.render())
            return 0
        # A bad input or output name fails before the model libraries load.
        output_format(Path(args.output))
        open_table(args.input, chunk_size=args.chunk_size, sep=args.sep)
        from mlsys.scoring import resolve_model, score_file

        model = resolve_model(args.model, name=args.name, tracking_uri=args.tracking_uri)
        log.info("Scoring with %s (%s)", model.label, model.source)
        if args.fail_on_drift:
            from mlsys.scoring import require_profile

            require_profile(model.bundle, model.label)
        summary = score_file(
            args.input,
            args.output,
            model,
            rejects=args.rejects,
            chunk_size=args.chunk_size,
            threshold=args.threshold,
            id_column=args.id_column,
            sep=args.sep,
            na_values=na_values,
            progress=sys.stderr.isatty() and not args.no_progress,
        )
        if args.summary_json is not None:
            summary.write_json(args.summary_json)
    except MlsysError as exc:
        # The CLI contract mlsys.evaluate.main keeps too: one error: line, exit code 2.
        if args.verbose:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.render())
    return drift_exit(summary.data_quality, args.fail_on_drift)


if __name__ == "__main__":
    raise SystemExit(main())
