"""The shadow challenger's figures: both models' score distributions and how often they agree.

A :class:`ShadowStats` is fed, off the response path, with the champion's and the challenger's
probabilities for the same rows. It keeps, per pair of versions, the rows compared, the rows
where both models take the same decision (each at its own threshold) and the sum of absolute
probability differences; per model (role and version) a histogram of its scores. A
:class:`ShadowCollector` exports them at scrape time:

- ``mlsys_model_score`` (histogram; ``role`` champion or challenger, ``version``);
- ``mlsys_shadow_rows_total``, ``mlsys_shadow_agreements_total``,
  ``mlsys_shadow_abs_diff_total`` (counters; ``champion_version``, ``challenger_version``),
  for rates over any range in PromQL;
- ``mlsys_shadow_agreement_rate`` and ``mlsys_shadow_mean_abs_diff`` (gauges, the same labels):
  the figures since that pair of versions started being compared, for ``ml-register compare``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from mlsys.errors import ModelError
from mlsys.serving._model import LoadedModel

__all__ = [
    "AGREEMENT_RATE_METRIC",
    "MEAN_ABS_DIFF_METRIC",
    "SCORE_BUCKETS",
    "SCORE_METRIC",
    "ShadowCollector",
    "ShadowStats",
    "check_compatible",
]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

SCORE_METRIC: Final = "mlsys_model_score"
AGREEMENT_RATE_METRIC: Final = "mlsys_shadow_agreement_rate"
MEAN_ABS_DIFF_METRIC: Final = "mlsys_shadow_mean_abs_diff"
#: Upper bounds of the score histograms: twentieths of [0, 1].
SCORE_BUCKETS: Final = tuple(round(0.05 * i, 2) for i in range(1, 21))
_EDGES = np.array(SCORE_BUCKETS)


@dataclass
class _Histogram:
    counts: np.ndarray[Any, np.dtype[np.int64]] = field(
        default_factory=lambda: np.zeros(len(SCORE_BUCKETS), dtype=np.int64)
    )
    total: float = 0.0

    def add(self, scores: FloatArray) -> None:
        # Cumulative counts per upper bound, as Prometheus histograms hold them.
        self.counts += np.searchsorted(np.sort(scores), _EDGES, side="right")
        self.total += float(scores.sum())


@dataclass
class _Pair:
    rows: int = 0
    agreements: int = 0
    abs_diff: float = 0.0


class ShadowStats:
    """Thread-safe tallies of the champion's and the challenger's scores on the same rows.

    Example:
        >>> stats = ShadowStats()
        >>> stats.compare(champion, p_champion, challenger, p_challenger)  # doctest: +SKIP
        >>> stats.figures()  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scores: dict[tuple[str, str], _Histogram] = {}
        self._pairs: dict[tuple[str, str], _Pair] = {}

    def observe(self, role: str, version: str, scores: FloatArray) -> None:
        """Add ``scores`` to the histogram of the model ``version`` serving as ``role``."""
        with self._lock:
            self._scores.setdefault((role, version), _Histogram()).add(scores)

    def compare(
        self,
        champion: LoadedModel,
        champion_scores: FloatArray,
        challenger: LoadedModel,
        challenger_scores: FloatArray,
    ) -> tuple[int, float]:
        """Tally one request's rows scored by both; its agreements and mean absolute difference."""
        agreed = int(
            np.sum(
                (champion_scores >= champion.bundle.threshold)
                == (challenger_scores >= challenger.bundle.threshold)
            )
        )
        diff = float(np.abs(champion_scores - challenger_scores).sum())
        with self._lock:
            self._scores.setdefault(("challenger", challenger.version), _Histogram()).add(
                challenger_scores
            )
            pair = self._pairs.setdefault((champion.version, challenger.version), _Pair())
            pair.rows += len(champion_scores)
            pair.agreements += agreed
            pair.abs_diff += diff
        return agreed, diff / max(len(champion_scores), 1)

    def reset(self) -> None:
        """Forget every tally (a model was swapped: its series would be stale)."""
        with self._lock:
            self._scores.clear()
            self._pairs.clear()

    def figures(self) -> dict[str, dict[str, float]]:
        """Per ``champion_version/challenger_version``: rows, agreement rate, mean abs diff."""
        with self._lock:
            return {
                f"{champion}/{challenger}": {
                    "rows": pair.rows,
                    "agreement_rate": pair.agreements / pair.rows,
                    "mean_abs_diff": pair.abs_diff / pair.rows,
                }
                for (champion, challenger), pair in self._pairs.items()
                if pair.rows
            }

    def _copy(self) -> tuple[dict[tuple[str, str], _Histogram], dict[tuple[str, str], _Pair]]:
        with self._lock:
            scores = {k: _Histogram(h.counts.copy(), h.total) for k, h in self._scores.items()}
            pairs = {k: _Pair(p.rows, p.agreements, p.abs_diff) for k, p in self._pairs.items()}
        return scores, pairs


class ShadowCollector:
    """Exports a :class:`ShadowStats` at scrape time (see the module docstring)."""

    def __init__(self, stats: ShadowStats) -> None:
        self._stats = stats

    def describe(self) -> list[Metric]:
        """The metric families, without samples (called on registration)."""
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        """One histogram per model, the counters and gauges per pair of versions."""
        histogram, rows, agreements, abs_diff, rate, mean = self._families()
        scores, pairs = self._stats._copy()
        for (role, version), h in sorted(scores.items()):
            buckets = [(str(b), float(c)) for b, c in zip(SCORE_BUCKETS, h.counts, strict=True)]
            buckets[-1] = ("+Inf", float(h.counts[-1]))  # every probability is <= 1
            histogram.add_metric([role, version], buckets, h.total)
        for (champion, challenger), pair in sorted(pairs.items()):
            labels = [champion, challenger]
            rows.add_metric(labels, pair.rows)
            agreements.add_metric(labels, pair.agreements)
            abs_diff.add_metric(labels, pair.abs_diff)
            if pair.rows:
                rate.add_metric(labels, pair.agreements / pair.rows)
                mean.add_metric(labels, pair.abs_diff / pair.rows)
        yield from (histogram, rows, agreements, abs_diff, rate, mean)

    @staticmethod
    def _families() -> tuple[
        HistogramMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        CounterMetricFamily,
        GaugeMetricFamily,
        GaugeMetricFamily,
    ]:
        pair = ["champion_version", "challenger_version"]
        return (
            HistogramMetricFamily(
                SCORE_METRIC,
                "Calibrated probabilities of the monitored rows, per model (role, version)",
                labels=["role", "version"],
            ),
            CounterMetricFamily(
                "mlsys_shadow_rows",
                "Rows scored by both the champion and the challenger",
                labels=pair,
            ),
            CounterMetricFamily(
                "mlsys_shadow_agreements",
                "Rows where the champion and the challenger take the same decision (each at its "
                "own threshold)",
                labels=pair,
            ),
            CounterMetricFamily(
                "mlsys_shadow_abs_diff",
                "Sum over shadowed rows of |champion probability - challenger probability|",
                labels=pair,
            ),
            GaugeMetricFamily(
                AGREEMENT_RATE_METRIC,
                "Share of shadowed rows with the same decision, since this pair was loaded",
                labels=pair,
            ),
            GaugeMetricFamily(
                MEAN_ABS_DIFF_METRIC,
                "Mean absolute probability difference on shadowed rows, since this pair was loaded",
                labels=pair,
            ),
        )


def check_compatible(champion: LoadedModel, challenger: LoadedModel) -> None:
    """Raise ModelError unless the challenger can score the champion's validated columns.

    Requests are validated against the champion's schema, so the challenger can only shadow
    when each of its columns is one of the champion's, of the same kind.
    """
    kinds = dict(zip(champion.bundle.schema.columns, champion.bundle.schema.kinds, strict=True))
    wrong = [
        f"{column} ({kind})"
        for column, kind in zip(
            challenger.bundle.schema.columns, challenger.bundle.schema.kinds, strict=True
        )
        if kinds.get(column) != kind
    ]
    if wrong:
        raise ModelError(
            f"challenger {challenger.version} cannot shadow champion {champion.version}: it "
            f"needs column(s) the champion's requests do not carry as such: {', '.join(wrong)}. "
            "Fix: shadow a challenger trained on the champion's columns."
        )
