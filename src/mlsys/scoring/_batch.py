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
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs in the lock

from mlsys.errors import ConfigError, DataError
from mlsys.models import ModelBundle
from mlsys.scoring._reader import DEFAULT_CHUNK_SIZE, TableReader, open_table
from mlsys.scoring._resolve import ResolvedModel
from mlsys.scoring._rows import Coded, Columns, RowValidator, ValidatedChunk
from mlsys.scoring._writer import TableWriter, output_format

__all__ = [
    "ChunkScorer",
    "Prepared",
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


@dataclass(frozen=True)
class Prepared:
    """A chunk ready for the model: a feature matrix and the predictor, or raw scores."""

    raw: Any = None
    matrix: Any = None
    predict: Any = None


class ChunkScorer:
    """Calibrated probabilities for validated columns, on the fastest path that agrees.

    Tabular bundles get the compiled numpy scorer of :func:`mlsys.serving.compile_scorer` (the
    server's fast path). It is checked against the bundle's own pandas path when the scorer is
    built, on probe rows holding every category level the model knows, unseen levels, missing
    values and numbers of every magnitude; if they disagree at all, the bundle's path is used.
    """

    def __init__(self, bundle: ModelBundle) -> None:
        from mlsys.serving import compile_scorer

        self.bundle = bundle
        compiled = compile_scorer(bundle)
        self.compiled: Any = _HashedOneHot.wrap(compiled) if compiled is not None else None
        if self.compiled is not None:
            self._verify(self._probe())

    @property
    def fast(self) -> bool:
        """Whether the compiled scorer is in use."""
        return self.compiled is not None

    def __call__(self, columns: Columns) -> FloatArray:
        """Probabilities for the rows of ``columns`` (same length arrays per schema column)."""
        return self.score(self.prepare(columns))

    def prepare(self, columns: Columns, codes: Mapping[str, Coded] | None = None) -> Prepared:
        """The work before the model call, safe to run in another thread than :meth:`score`.

        That is the feature matrix on the compiled path, the raw scores on the bundle's path.
        ``codes`` (from :class:`ValidatedChunk`) lets the compiled path map each categorical
        level once instead of once per row.
        """
        n = len(next(iter(columns.values()))) if columns else 0
        if n == 0:
            return Prepared(raw=np.zeros(0, dtype=np.float64))
        compiled = self.compiled
        if compiled is None:
            return Prepared(raw=self._slow(columns))
        if codes and isinstance(compiled, _HashedOneHot):
            return Prepared(matrix=compiled.matrix(columns, codes), predict=compiled.predict)
        if hasattr(compiled, "matrix") and hasattr(compiled, "predict"):
            return Prepared(matrix=compiled.matrix(columns), predict=compiled.predict)
        return Prepared(raw=compiled(columns))

    def score(self, prepared: Prepared) -> FloatArray:
        """Calibrated probabilities from :meth:`prepare`'s output: model call and calibration."""
        raw = prepared.raw if prepared.predict is None else prepared.predict(prepared.matrix)
        return np.asarray(self.bundle.calibrator.transform(raw), dtype=np.float64)

    def _slow(self, columns: Columns) -> FloatArray:
        return self.bundle.raw_scores(pd.DataFrame(columns, copy=False))

    def _probe(self) -> Columns:
        """Rows covering every known level (plus unseen and missing) and numbers of all sizes."""
        rng = np.random.default_rng(0)
        known = (
            {column: list(index) for column, index, _, _ in self.compiled.lookups}
            if isinstance(self.compiled, _HashedOneHot)
            else {}
        )
        n = min(4096, max([64, *(len(levels) + 2 for levels in known.values())]))
        probe: Columns = {}
        for column, kind in zip(self.bundle.schema.columns, self.bundle.schema.kinds, strict=True):
            if kind == "categorical":
                levels = [*known.get(column, []), "\x00unseen level\x00", None]
                probe[column] = np.array([levels[i % len(levels)] for i in range(n)], dtype=object)
                continue
            if kind == "boolean":
                values = rng.integers(0, 2, n).astype(np.float64)
            else:
                values = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-2, 5, n)
                values[::7] = 0.0
            values[3::11] = np.nan
            probe[column] = values
        return probe

    def _verify(self, probe: Columns) -> None:
        try:
            agree = bool(
                np.allclose(self.compiled(probe), self._slow(probe), rtol=1e-9, atol=1e-12)
            )
        except Exception as exc:
            log.warning("Fast path failed on probe rows (%s); using the bundle's path", exc)
            agree = False
        if not agree:
            log.warning("Fast path disagrees with the bundle on probe rows; using the bundle")
            self.compiled = None


class _HashedOneHot:
    """The compiled tabular scorer with its per-value category loop done as one hash lookup.

    The server's scorer maps each categorical value to its one-hot column in a Python loop,
    which is cheap for a request and the largest cost for millions of rows. This reuses the
    scorer's fitted layout (numeric block, one-hot positions, predictor) and looks categories up
    with ``pandas.Index.get_indexer`` instead. If the scorer's layout is not the expected one,
    :meth:`wrap` returns it unchanged; either way :class:`ChunkScorer` checks the result
    against the bundle before use.
    """

    def __init__(self, compiled: Any) -> None:
        import copy

        self.compiled = compiled
        self.numeric = copy.copy(compiled)
        self.numeric.categorical, self.numeric.offsets = [], []
        self.lookups: list[tuple[str, pd.Index, np.ndarray[Any, Any], int]] = []
        for column, mapping in zip(compiled.categorical, compiled.offsets, strict=True):
            other = int(mapping[""])
            levels: list[Any] = [level for level in mapping if level != ""]
            positions = [mapping[level] for level in levels]
            # None (missing, as RowValidator gives it) goes where the scorer sends "__missing__".
            levels.append(None)
            positions.append(mapping.get("__missing__", other))
            index = pd.Index(levels, dtype=object)
            self.lookups.append((column, index, np.asarray(positions, dtype=np.int64), other))

    @classmethod
    def wrap(cls, compiled: Any) -> Any:
        """A hashed-lookup version of ``compiled``, or ``compiled`` itself if not applicable."""
        try:
            return cls(compiled)
        except (AttributeError, KeyError, TypeError, ValueError):
            return compiled

    def matrix(self, columns: Columns, codes: Mapping[str, Coded] | None = None) -> FloatArray:
        """The feature matrix, as the compiled scorer builds it.

        With ``codes``, each categorical column's distinct levels are looked up once and the
        rows take their level's column by code; otherwise every value is looked up.
        """
        matrix: FloatArray = self.numeric.matrix(columns)
        rows = np.arange(len(matrix))
        for column, levels, positions, other in self.lookups:
            coded = codes.get(column) if codes else None
            values = coded.levels if coded is not None else columns[column]
            found = levels.get_indexer(pd.Index(values, dtype=object, copy=False))
            index = np.where(found >= 0, positions[found], other)
            if coded is not None:
                index = index[coded.codes]
            hit = index >= 0
            matrix[rows[hit], index[hit]] = 1.0
        return matrix

    def predict(self, matrix: FloatArray) -> FloatArray:
        """Raw positive-class scores of the compiled scorer's estimator."""
        scores: FloatArray = self.compiled.predict(matrix)
        return scores

    def __call__(self, columns: Columns) -> FloatArray:
        return self.predict(self.matrix(columns))


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
    fast_path: bool = False
    id_column: str = "row"
    probability: dict[str, Any] = field(default_factory=dict)
    share_at_or_above_threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

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
            f"throughput       {self.rows_per_second:,.0f} rows/s "
            f"({self.seconds:.2f} s, fast path: {'yes' if self.fast_path else 'no'})",
        ]
        if self.rows_scored:
            lines += [
                "probability      "
                + "  ".join(f"{k} {p[k]:.4f}" for k in ("p05", "p25", "p50", "p75", "p95")),
                f"                 mean {p['mean']:.4f}  min {p['min']:.4f}  max {p['max']:.4f}",
                f"decision = 1     {share:.2%} of scored rows (probability >= "
                f"{self.threshold:.4f})",
            ]
        return "\n".join(lines)


def default_rejects_path(output: Path) -> Path:
    """``<output stem>.rejects.csv`` beside the output."""
    return output.with_name(f"{output.stem}.rejects.csv")


def iter_scored(
    reader: TableReader,
    validator: RowValidator,
    scorer: ChunkScorer,
    progress: bool = False,
) -> Iterator[tuple[ValidatedChunk, FloatArray]]:
    """Validate and score every chunk of ``reader``; yields the chunk and its probabilities."""
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
        # A thread reads, validates and builds the features of the next chunk meanwhile.
        prepared = (
            (validated, scorer.prepare(validated.columns, validated.codes))
            for validated in (validator.validate(chunk) for chunk in reader.chunks())
        )
        for validated, ready in _ahead(prepared):
            yield validated, scorer.score(ready)
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
    files appear only when the run succeeds.

    Args:
        source: Input file (``.parquet`` / ``.pq`` or CSV).
        output: Output file (``.csv``, ``.parquet`` or ``.pq``).
        model: The model, from :func:`resolve_model`.
        rejects: Where rejected rows go (``.csv`` or ``.parquet``).
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
    cutoff = _threshold(model, threshold)
    _distinct_paths(source, output, rejects_path)
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
    scorer = ChunkScorer(model.bundle)
    started = time.perf_counter()  # rows/s counts the data path, not imports or compiling
    schema = pa.schema(
        [
            (id_name, reader.types[id_name]) if id_name else ("row", pa.int64()),
            ("probability", pa.float64()),
            ("decision", pa.int8()),
            ("model_version", pa.string()),
        ]
    )
    stats = ScoreStats(cutoff)
    reasons: Counter[str] = Counter()
    with ExitStack() as stack:
        scores = stack.enter_context(TableWriter(output, schema, dictionary=["model_version"]))
        reject_schema = validator.reject_schema
        rejected = stack.enter_context(TableWriter(rejects_path, reject_schema, what="--rejects"))
        for validated, probabilities in iter_scored(reader, validator, scorer, progress):
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
        fast_path=scorer.fast,
        id_column=id_name or "row",
        probability=stats.to_dict(),
        share_at_or_above_threshold=round(stats.above / stats.n, 6) if stats.n else None,
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
