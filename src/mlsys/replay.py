"""``python -m mlsys.replay <run dir | MLflow run id>``: re-run a past run and check its metrics.

Reads the run's saved, fully resolved ``config.yaml`` and its ``metadata.json``, refuses if the
data file's sha256 changed since, re-runs the pipeline into a new directory (without tracking or
registering, unless ``--track``), and reports whether ``metrics.json`` is byte-identical.

Exit codes: 0 identical, 1 metrics differ, 2 cannot replay (data changed, run not found, ...).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsys._rundir import RUN_FILES, RunDir
from mlsys.errors import MlsysError, TrackingError
from mlsys.logs import configure_logging

__all__ = ["ReplayResult", "main", "replay"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of a replay."""

    identical: bool
    original: dict[str, Any]
    replayed: dict[str, Any]
    output_dir: Path

    def differences(self) -> dict[str, tuple[Any, Any]]:
        """Metric name -> (original, replayed) for every metric that differs."""
        keys = sorted(set(self.original) | set(self.replayed))
        return {
            k: (self.original.get(k), self.replayed.get(k))
            for k in keys
            if self.original.get(k) != self.replayed.get(k)
        }


def _fetch_run(ref: str, uri: str | None, into: Path) -> Path:
    """A local directory holding the run's config, metadata and metrics."""
    local = Path(ref)
    if local.is_dir():
        return local
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from mlsys.tracking import resolve_tracking_uri

    client = MlflowClient(tracking_uri=resolve_tracking_uri(uri))
    try:
        for name in RUN_FILES:
            client.download_artifacts(ref, name, str(into))
    except MlflowException as exc:
        raise TrackingError(
            f"replay: '{ref}' is neither a run directory nor an MLflow run id in "
            f"{resolve_tracking_uri(uri)} ({exc.message}). Fix: pass outputs/<date>/<time> or a "
            "run id from `python -m mlsys.registry list`."
        ) from exc
    return into


def replay(
    ref: str, uri: str | None = None, output_dir: Path | None = None, track: bool = False
) -> ReplayResult:
    """Re-run a past run from its saved config; compare metrics.

    Example:
        >>> result = replay("outputs/2026-11-26/10-00-00-000000")  # doctest: +SKIP
        >>> result.identical  # doctest: +SKIP
        True
    """
    from mlsys.config import build_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir.open(_fetch_run(ref, uri, Path(tmp)), purpose="replay")
        original, original_bytes = run.metrics, run.metrics_bytes
    run.check_data()  # hashes the file; the pipeline reads it again
    config = run.config
    if not track:
        config.tracker = {"_target_": "mlsys.tracking.NullTracker"}
        config.registry = {"_target_": "mlsys.registry.NoPromotion"}
    stamp = datetime.now().strftime("%Y-%m-%d/%H-%M-%S-%f")
    out = output_dir or Path("outputs") / "replay" / stamp
    result = build_pipeline(config, output_dir=out, overrides=[f"replay={ref}"]).run()
    replayed_bytes = (out / "metrics.json").read_bytes()
    return ReplayResult(
        identical=replayed_bytes == original_bytes,
        original=original,
        replayed=result.metrics,
        output_dir=out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (``ml-replay``)."""
    parser = argparse.ArgumentParser(prog="python -m mlsys.replay", description=__doc__)
    parser.add_argument("run", help="a run directory (outputs/...) or an MLflow run id")
    parser.add_argument("--uri", default=None, help="tracking URI for run ids")
    parser.add_argument("--out", type=Path, default=None, help="where the replay writes")
    parser.add_argument("--track", action="store_true", help="track and register the replay")
    args = parser.parse_args(argv)
    configure_logging("WARNING")  # results go to stdout; warnings and errors to stderr
    try:
        result = replay(args.run, uri=args.uri, output_dir=args.out, track=args.track)
    except MlsysError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if result.identical:
        print(f"IDENTICAL: metrics.json matches byte for byte (replay in {result.output_dir})")
        return 0
    print(f"DIFFERENT: replay in {result.output_dir} differs from the original run:")
    for key, (before, after) in result.differences().items():
        print(f"  {key}: {before} -> {after}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
