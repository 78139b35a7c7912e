"""Score a file of any size chunk by chunk: validate, score, write, summarise.

Peak memory is set by ``chunk_size`` (rows in flight), never by the file: chunks are read,
scored and appended to the output one at a time, and the score distribution is summarised by a
fixed 10,000-bin histogram instead of keeping every score.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import pyarrow as pa
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs in the lock

from mlsys.errors import ConfigError, DataError
from mlsys.files import write_text
from mlsys.models import ModelBundle
from mlsys.scoring._quality import (
    NO_PROFILE,
    default_quality_path,
    drift_counter,
    quality_dict,
    quality_markdown,
    quality_verdict,
)
from mlsys.scoring._reader import DEFAULT_CHUNK_SIZE, TableReader, open_table
from mlsys.scoring._resolve import ResolvedModel
from mlsys.scoring._rows import RowValidator, ValidatedChunk
from mlsys.scoring._writer import TableWriter, output_format

if TYPE_CHECKING:
    from mlsys.monitoring import DriftAccumulator, DriftReport

__all__ = [
    "ScoreStats",
    "ScoringSummary",
    "default_rejects_path",
    "iter_scored",
    "score_file",
]

log = logging.getLogger(__name__)
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
T = TypeVar("T")
QUANTILES = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


class ScoreStats:
    """Count, mean, extremes, quantiles and share at or above the threshold, in O(1) memory.

    Quantiles come from a 10,000-bin histogram over [0, 1] with linear interpolation inside a
    bin, so they are exact to 0.0001.
    """

    bins = 10_000

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.counts = np.zeros(self.bins, dtype=np.int64)
        self.n = 0
        self.total = 0.0
        self.above = 0
        self.low = float("inf")
        self.high = float("-inf")

    def add(self, probabilities: FloatArray) -> None:
        """Add a chunk's probabilities."""
        if not len(probabilities):
            return
        index = np.clip((probabilities * self.bins).astype(np.int64), 0, self.bins - 1)
        self.counts += np.bincount(index, minlength=self.bins)
        self.n += len(probabilities)
        self.total += float(probabilities.sum())
        self.above += int((probabilities >= self.threshold).sum())
        self.low = min(self.low, float(probabilities.min()))
        self.high = max(self.high, float(probabilities.max()))

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the probabilities added so far (``None`` when there are none)."""
        if not self.n:
            return None
        cumulative = np.cumsum(self.counts)
        target = q * self.n
        i = int(np.searchsorted(cumulative, target, side="left"))
        i = min(i, self.bins - 1)
        before = int(cumulative[i - 1]) if i else 0
        inside = (target - before) / self.counts[i] if self.counts[i] else 0.0
        value = (i + inside) / self.bins
        return float(min(max(value, self.low), self.high))

    def to_dict(self) -> dict[str, Any]:
        """Mean, min, max and quantiles (``p01`` ... ``p99``), rounded to 4 decimals."""
        if not self.n:
            return {"mean": None, "min": None, "max": None, **{_q(q): None for q in QUANTILES}}
        quantiles = {_q(q): round(self.quantile(q) or 0.0, 4) for q in QUANTILES}
        return {
            "mean": round(self.total / self.n, 6),
            "min": round(self.low, 6),
            "max": round(self.high, 6),
            **quantiles,
        }


def _q(q: float) -> str:
    return f"p{round(q * 100):02d}"


@dataclass
class ScoringSummary:
    """What a scoring run did, for people (:meth:`render`) and machines (:meth:`to_dict`)."""

    input: str
    output: str
    rejects: str
    model: dict[str, Any]
    threshold: float
    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rows_per_second: float = 0.0
    chunk_size: int = 0
    id_column: str = "row"
    probability: dict[str, Any] = field(default_factory=dict)
    share_at_or_above_threshold: float | None = None
    quality: str | None = None
    data_quality: DriftReport | None = None
    unchecked: str = NO_PROFILE

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form; ``data_quality`` is the section, or why there is none."""
        skip = ("data_quality", "unchecked")
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["data_quality"] = quality_dict(self.data_quality, self.unchecked)
        return out

    def write_json(self, path: Path) -> Path:
        """Write :meth:`to_dict` as JSON, atomically."""
        from mlsys.files import write_json

        return write_json(path, self.to_dict())

    def render(self) -> str:
        """A short human-readable report."""
        p = self.probability
        share = self.share_at_or_above_threshold
        lines = [
            f"model            {self.model.get('label')}",
            f"rows in          {self.rows_in:,}",
            f"rows scored      {self.rows_scored:,}  -> {self.output}",
            f"rows rejected    {self.rows_rejected:,}  -> {self.rejects}",
        ]
        lines += [f"  {count:>10,}  {reason}" for reason, count in self.reject_reasons.items()]
        lines += [
            f"throughput       {self.rows_per_second:,.0f} rows/s ({self.seconds:.2f} s)",
        ]
        if self.rows_scored:
            lines += [
                "probability      "
                + "  ".join(f"{k} {p[k]:.4f}" for k in ("p05", "p25", "p50", "p75", "p95")),
                f"                 mean {p['mean']:.4f}  min {p['min']:.4f}  max {p['max']:.4f}",
                f"decision = 1     {share:.2%} of scored rows (probability >= "
                f"{self.threshold:.4f})",
            ]
        lines.append(quality_verdict(self.data_quality, self.unchecked))
        if self.quality:
            lines.append(f"                 -> {self.quality}")
        return "\n".join(lines)


def default_rejects_path(output: Path) -> Path:
    """``<output stem>.rejects.csv`` beside the output."""
    return output.with_name(f"{output.stem}.rejects.csv")


def iter_scored(
    reader: TableReader,
    validator: RowValidator,
    bundle: ModelBundle,
    progress: bool = False,
    drift: DriftAccumulator | None = None,
) -> Iterator[tuple[ValidatedChunk, FloatArray]]:
    """Validate and score every chunk of ``reader``; yields the chunk and its probabilities.

    Chunks are scored by :meth:`ModelBundle.score` with their categories coded (each distinct
    level is mapped once per chunk). With ``drift``, each chunk's good rows and probabilities
    are counted into it (the data-quality section), in the caller's thread while the next
    chunk is read and scored.
    """
    bar = tqdm(
        total=reader.total,
        unit=reader.unit,
        unit_scale=True,
        disable=not progress,
        file=sys.stderr,
        desc="scoring",
        dynamic_ncols=True,
    )
    with bar:
        done, rows = 0, 0
        # A thread reads, validates and scores the next chunk while the caller writes this one.
        scored = (
            (validated, bundle.score({**validated.columns, **validated.codes}))
            for validated in (validator.validate(chunk) for chunk in reader.chunks())
        )
        for validated, probabilities in _ahead(scored):
            if drift is not None:
                drift.add({**validated.columns, **validated.codes}, scores=probabilities)
            yield validated, probabilities
            rows += validated.n_good + validated.n_rejected
            position = reader.position()
            bar.update(position - done)
            bar.set_postfix(rows=f"{rows:,}", refresh=False)
            done = position
        if reader.total is not None:
            bar.update(reader.total - done)


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """Produce the next item in a thread while the caller works on this one.

    Arrow parsing, numpy and the model's prediction release the GIL, so the two overlap. At
    most two chunks are in memory.
    """
    done = object()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlsys-read") as pool:
        pending = pool.submit(next, items, done)
        while (item := pending.result()) is not done:
            pending = pool.submit(next, items, done)
            yield cast(T, item)


def score_file(
    source: str | Path,
    output: str | Path,
    model: ResolvedModel,
    *,
    rejects: str | Path | None = None,
    quality: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    threshold: float | None = None,
    id_column: str | None = None,
    sep: str = ",",
    na_values: Sequence[str] = (),
    progress: bool = False,
) -> ScoringSummary:
    """Score every row of a CSV or Parquet file into a CSV or Parquet file of scores.

    The output has the id column (``id_column``, else the model's id column if the file has
    it, else ``row``: the 1-based data row number), ``probability``, ``decision`` (1 when the
    probability reaches the threshold) and ``model_version``. Rows that fail validation go to
    ``rejects`` (default ``<output stem>.rejects.csv``) with their row number and reason. Both
    files appear only when the run succeeds. The scored rows are checked against the model's
    training profile: the data-quality section (PSI per column and of the scores, values out
    of range, unseen levels, missing rates) is ``summary.data_quality`` and the markdown page
    ``quality`` (default ``<output stem>.quality.md``), written last.

    Args:
        source: Input file (``.parquet`` / ``.pq`` or CSV).
        output: Output file (``.csv``, ``.parquet`` or ``.pq``).
        model: The model, from :func:`resolve_model`.
        rejects: Where rejected rows go (``.csv`` or ``.parquet``).
        quality: Where the data-quality section goes (markdown).
        chunk_size: Rows per chunk: bounds memory.
        threshold: Decision threshold; ``None`` uses the model's.
        id_column: Column identifying a row in the output.
        sep: CSV separator of the input.
        na_values: Extra strings meaning "missing" in a CSV input.
        progress: Show a progress bar on stderr.

    Raises:
        DataError: Unreadable input, or the output cannot be written.
        SchemaError: The input lacks model columns (nothing is written).

    Example:
        >>> summary = score_file("leads.csv", "scores.parquet", resolve_model())  # doctest: +SKIP
        >>> summary.rows_scored, summary.probability["p50"]  # doctest: +SKIP
        (20000, 0.0512)
    """
    started = time.perf_counter()
    source, output = Path(source), Path(output)
    rejects_path = Path(rejects) if rejects is not None else default_rejects_path(output)
    quality_path = Path(quality) if quality is not None else default_quality_path(output)
    cutoff = _threshold(model, threshold)
    _distinct_paths(source, output, rejects_path, quality_path)
    output_format(output)
    output_format(rejects_path, what="--rejects")
    reader = open_table(source, chunk_size=chunk_size, sep=sep, na_values=na_values)
    id_name = _id_column(reader, model, id_column)
    validator = RowValidator(
        model.bundle.schema,
        required=[id_name] if id_name else [],
        keep=[id_name] if id_name else [],
    )
    validator.check_columns(reader)
    started = time.perf_counter()  # rows/s counts the data path, not imports
    schema = pa.schema(
        [
            (id_name, reader.types[id_name]) if id_name else ("row", pa.int64()),
            ("probability", pa.float64()),
            ("decision", pa.int8()),
            ("model_version", pa.string()),
        ]
    )
    stats = ScoreStats(cutoff)
    drift = drift_counter(model.bundle)
    reasons: Counter[str] = Counter()
    with ExitStack() as stack:
        scores = stack.enter_context(TableWriter(output, schema, dictionary=["model_version"]))
        reject_schema = validator.reject_schema
        rejected = stack.enter_context(TableWriter(rejects_path, reject_schema, what="--rejects"))
        chunks = iter_scored(reader, validator, model.bundle, progress, drift)
        for validated, probabilities in chunks:
            ids = validated.kept[id_name] if id_name else pa.array(validated.rows)
            scores.write(
                pa.table(
                    [
                        ids,
                        pa.array(probabilities, pa.float64()),
                        pa.array((probabilities >= cutoff).astype(np.int8)),
                        pa.repeat(pa.scalar(model.label, pa.string()), len(probabilities)),
                    ],
                    schema=schema,
                )
            )
            rejected.write(validated.rejects)
            reasons.update(validated.reasons)
            stats.add(probabilities)
        scores.commit()
        rejected.commit()
    seconds = time.perf_counter() - started
    rows_in = scores.rows + rejected.rows
    if rows_in == 0:
        log.warning("%s has a header but no rows: wrote an empty %s", source, output)
    report = drift.report() if drift is not None else None
    write_text(quality_path, quality_markdown(report, source))
    return ScoringSummary(
        input=str(source),
        output=str(output),
        rejects=str(rejects_path),
        model=model.info(),
        threshold=cutoff,
        rows_in=rows_in,
        rows_scored=scores.rows,
        rows_rejected=rejected.rows,
        reject_reasons=dict(reasons.most_common()),
        seconds=round(seconds, 3),
        rows_per_second=round(rows_in / seconds, 1) if seconds > 0 else 0.0,
        chunk_size=chunk_size,
        id_column=id_name or "row",
        probability=stats.to_dict(),
        share_at_or_above_threshold=round(stats.above / stats.n, 6) if stats.n else None,
        quality=str(quality_path),
        data_quality=report,
    )


def _threshold(model: ResolvedModel, threshold: float | None) -> float:
    value = model.bundle.threshold if threshold is None else threshold
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"--threshold: {value} is not a probability. Fix: pass 0 <= t <= 1.")
    return float(value)


def _distinct_paths(source: Path, *outputs: Path) -> None:
    for target in outputs:
        if target.resolve() == source.resolve():
            raise DataError(
                f"output '{target}' is the input file; scoring would overwrite it. "
                "Fix: choose another output name."
            )
    if outputs[0].resolve() == outputs[1].resolve():
        raise DataError(f"--rejects: '{outputs[1]}' is also the output. Fix: choose another.")
    if outputs[2].resolve() in {outputs[0].resolve(), outputs[1].resolve()}:
        raise DataError(
            f"quality: '{outputs[2]}' is also the output or the rejects file. "
            "Fix: choose another name for one of them."
        )


def _id_column(reader: TableReader, model: ResolvedModel, asked: str | None) -> str | None:
    if asked is not None:
        return asked  # RowValidator.check_columns reports it if the file lacks it
    if model.id_column and model.id_column in reader.columns:
        return model.id_column
    if model.id_column:
        log.warning(
            "The model's id column '%s' is not in %s; output rows are identified by 'row' "
            "(1-based data row number). Pass --id-column to use another column.",
            model.id_column,
            reader.path,
        )
    return None
