"""A serving process's shadow figures, read from its ``/metrics`` for ``ml-register compare``.

The server exports, per champion/challenger pair, the rows both scored, their agreement rate at
the decision thresholds and the mean absolute probability difference, and per model a histogram
of its scores (docs/MONITORING.md, "Shadow challenger"). This reads them back with
prometheus_client's text parser, so that promoting a challenger can cite how it behaved on live
traffic beside its offline gate.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from mlsys.errors import TrackingError

__all__ = ["read_live_figures", "render_live_figures"]

_QUANTILES = (0.1, 0.5, 0.9)
_PAIR_FAMILIES = ("mlsys_shadow_rows", "mlsys_shadow_agreement_rate", "mlsys_shadow_mean_abs_diff")


def read_live_figures(url: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """The shadow pairs and score distributions on a server's ``/metrics`` page.

    Raises:
        TrackingError: The page cannot be fetched or is not Prometheus text.

    Example:
        >>> read_live_figures("http://127.0.0.1:8000/metrics")["pairs"]  # doctest: +SKIP
        [{'champion_version': '3', 'challenger_version': '4', 'rows': 5120, ...}]
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            text = response.read().decode()
        families = list(text_string_to_metric_families(text))
    except (OSError, ValueError, urllib.error.URLError) as exc:
        raise TrackingError(
            f"--metrics-url {url}: could not read it ({type(exc).__name__}: {exc}). Fix: give "
            "the /metrics address of a running ml-serve (http://host:port/metrics)."
        ) from exc
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    scores: dict[tuple[str, str], dict[str, Any]] = {}
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            if family.name in _PAIR_FAMILIES and not sample.name.endswith("_created"):
                key = (labels["champion_version"], labels["challenger_version"])
                row = pairs.setdefault(
                    key, {"champion_version": key[0], "challenger_version": key[1]}
                )
                field = family.name.removeprefix("mlsys_shadow_")
                row[field] = int(sample.value) if field == "rows" else sample.value
            elif family.name == "mlsys_model_score":
                key = (labels["role"], labels["version"])
                entry = scores.setdefault(key, {"role": key[0], "version": key[1], "buckets": {}})
                if sample.name.endswith("_bucket"):
                    entry["buckets"][labels["le"]] = sample.value
                elif sample.name.endswith("_count"):
                    entry["count"] = int(sample.value)
                elif sample.name.endswith("_sum"):
                    entry["sum"] = sample.value
    return {
        "url": url,
        "pairs": list(pairs.values()),
        "scores": [_summary(entry) for entry in scores.values()],
    }


def _summary(entry: dict[str, Any]) -> dict[str, Any]:
    count = entry.get("count", 0)
    bounds = sorted(
        (float("inf") if le == "+Inf" else float(le), n) for le, n in entry["buckets"].items()
    )
    summary: dict[str, Any] = {
        "role": entry["role"],
        "version": entry["version"],
        "count": count,
        "mean": entry.get("sum", 0.0) / count if count else None,
    }
    for q in _QUANTILES:
        # The histogram holds counts up to each bound: the bound where q of the rows are reached.
        reached = next((b for b, n in bounds if count and n >= q * count), None)
        summary[f"p{round(q * 100)}_at_most"] = None if reached is None else min(reached, 1.0)
    return summary


def render_live_figures(live: dict[str, Any]) -> list[str]:
    """The figures as lines under the offline comparison."""
    lines = [f"live figures from {live['url']}"]
    if not live["pairs"]:
        lines.append("  no shadow figures yet (no challenger configured, or no request scored)")
    for pair in live["pairs"]:
        lines.append(
            f"  champion {pair['champion_version']} vs challenger {pair['challenger_version']}: "
            f"{pair.get('rows', 0):,} rows, agreement {_percent(pair.get('agreement_rate'))} at "
            f"the decision thresholds, mean |probability difference| "
            f"{_number(pair.get('mean_abs_diff'))}"
        )
    if live["scores"]:
        lines.append(f"  {'scores':<36}{'rows':>9}{'mean':>8}{'p10<=':>7}{'p50<=':>7}{'p90<=':>7}")
    for s in live["scores"]:
        name = f"{s['role']} {s['version']}"
        lines.append(
            f"  {name:<36}{s['count']:>9,}{_number(s['mean']):>8}"
            + "".join(f"{_number(s[f'p{q}_at_most'], 2):>7}" for q in (10, 50, 90))
        )
    return lines


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
