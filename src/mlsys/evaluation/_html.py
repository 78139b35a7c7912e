"""Render ``report.html`` from the jinja2 template ``templates/report.html.j2``.

The page is self-contained (inline CSS, images as ``data:`` URIs) and autoescaped: a segment
value, a column name or a note that holds ``<script>`` is shown as text, never run.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    import jinja2

    from mlsys.evaluation._records import ReportArtifacts, ReportOptions

__all__ = ["SECTIONS", "render_html"]

#: Section ids of the page, in order, with their titles in the page's navigation.
SECTIONS = {
    "model": "Model",
    "metrics": "Metrics",
    "confusion": "Confusion matrix",
    "plots": "Plots",
    "gains": "Gains",
    "segments": "Segments",
    "importance": "Importance",
    "shap": "SHAP",
    "quality": "Data quality",
    "notes": "Notes",
}

_METRIC_HELP = {
    "roc_auc": "Chance a random converter is scored above a random non-converter (0.5 = random).",
    "pr_auc": "Average precision over all recall levels; compare with the positive rate.",
    "log_loss": "Penalty for confident wrong probabilities (lower is better).",
    "brier": "Mean squared error of the probabilities (lower is better).",
    "ece": "Expected calibration error: mean gap between predicted and observed rates.",
    "positive_rate": "Share of rows that converted (the base rate).",
    "precision": "Share of called leads that converted, at the threshold.",
    "recall": "Share of converters called, at the threshold.",
    "f1": "Harmonic mean of precision and recall, at the threshold.",
    "accuracy": "Share of rows decided correctly (misleading on imbalanced data).",
    "threshold": "Probability at or above which a lead is called (chosen on validation).",
}

#: Title and caption of each plot shown in the plots section, in order.
_PLOT_TEXT = {
    "roc": (
        "ROC curve",
        "How well the score ranks converters above non-converters at every cut-off. The "
        "further the curve bows to the top left, the better; the diagonal is random.",
    ),
    "precision_recall": (
        "Precision-recall",
        "Hit rate of calls (precision) against the share of converters found (recall). On "
        "imbalanced data this shows what ROC hides: the dashed line is calling at random.",
    ),
    "calibration": (
        "Calibration",
        "Observed conversion rate per probability bin. On the diagonal, a 20 % score converts "
        "20 % of the time, so probabilities can feed forecasts and expected-value routing.",
    ),
    "gains_lift": (
        "Gains and lift",
        "Left: share of converters found when calling the top share of leads. Right: how many "
        "times the base rate each score decile converts; decile 1 is the top 10 %.",
    ),
    "score_distribution": (
        "Score distribution",
        "Probabilities of converters and non-converters, each scaled to its own total; the "
        "less they overlap, the better the separation. The dotted line is the threshold.",
    ),
    "threshold_analysis": (
        "Threshold analysis",
        "Precision, recall, F1 and share of leads called at every threshold; the dotted line "
        "is the threshold in use. Move it to trade calls against converters found.",
    ),
}


def render_html(
    artifacts: ReportArtifacts, facts: Mapping[str, Any], options: ReportOptions
) -> str:
    """The report page for ``artifacts`` (model ``facts`` in the model section)."""
    first = next(iter(artifacts.intervals.values()), None)
    plots = [
        (name, title, caption, artifacts.plots[name])
        for name, (title, caption) in _PLOT_TEXT.items()
        if name in artifacts.plots
    ]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            artifacts=artifacts,
            facts=facts,
            options=options,
            name=str(facts.get("name") or "model"),
            sections=SECTIONS,
            plots=plots,
            resamples=None if first is None else first.resamples,
        )
    )


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mlsys.evaluation", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the test suite, not silently
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=_fmt, data_uri=_data_uri, metric_help=_metric_help)
    return env


def _fmt(value: Any, pct: bool = False, digits: int = 4) -> str:
    """A value as the report shows it: 4 decimals, 2 as a percentage, integers with commas."""
    if value is None:
        return "undefined"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{max(digits - 2, 1)}%}" if pct else f"{value:.{digits}f}"


def _data_uri(path: Path) -> str:
    """A ``data:`` URI of a PNG file, for an ``<img src>`` that needs no other file."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _metric_help(key: str) -> str:
    if key in _METRIC_HELP:
        return _METRIC_HELP[key]
    share = key.rsplit("_", 1)[-1].replace("pct", " %")
    if key.startswith("precision_at_"):
        return f"Share of converters in the top {share} of leads by score."
    if key.startswith("recall_at_"):
        return f"Share of all converters found in the top {share} of leads by score."
    if key.startswith("lift_at_"):
        return f"Conversion rate of the top {share} of leads over the base rate."
    return ""
