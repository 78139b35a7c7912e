"""The model card of a registered version: typed facts in, markdown (and HTML) out.

:class:`ModelCardFacts` is the contract: every fact a card shows, gathered by the training run
or the registry (data file and digest, the training profile, test metrics with bootstrap
intervals, segments, threshold, calibration, top features, the gate's decision, known limits,
intended use). :func:`render_model_card` fills ``templates/model_card.md.j2`` with them;
:func:`model_card_html` renders that markdown as an HTML fragment for the evaluation report.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from mlsys.monitoring._markdown import cell, number, oneline, percent, table
from mlsys.monitoring._profile import DataProfile

# The package __init__ lists these again: its __all__ is the public API (test_public_api).
__all__ = [
    "DEFAULT_INTENDED_USE",
    "CalibrationFacts",
    "DataFacts",
    "FeatureFacts",
    "GateFacts",
    "MetricFacts",
    "ModelCardFacts",
    "SegmentFacts",
    "ThresholdFacts",
    "model_card_html",
    "render_model_card",
]

DEFAULT_INTENDED_USE: Final = (
    "Rank new leads by their calibrated probability of converting, to decide which ones sales "
    "calls first, for leads drawn from the same sources, markets and period as the training "
    "data. Not for decisions about individual people beyond that prioritisation, not for data "
    "from another product, market or funnel stage without re-validation, and not after the "
    "drift alerts fire without checking the data first."
)


class _Facts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataFacts(_Facts):
    """The data the model was trained on.

    Attributes:
        file: The source file (path or URI).
        sha256: Digest of its bytes.
        rows: Labelled rows used (all splits).
        positive_rate: Share of positive rows.
        target: The label column.
        positive_label: The label value that means "converted".
        date_column: The column the date range is taken from, if any.
        date_from: First date in the data (ISO).
        date_to: Last date in the data (ISO).
    """

    file: str
    sha256: str
    rows: int = Field(ge=0)
    positive_rate: float = Field(ge=0, le=1)
    target: str
    positive_label: str
    date_column: str | None = None
    date_from: str | None = None
    date_to: str | None = None


class MetricFacts(_Facts):
    """One test metric, with its bootstrap interval when there is one."""

    name: str
    value: float | None
    low: float | None = None
    high: float | None = None
    confidence: float | None = None


class SegmentFacts(_Facts):
    """Test metrics of one segment (``evaluation.report.segment_column``)."""

    column: str
    segment: str
    rows: int
    positives: int
    roc_auc: float | None = None
    pr_auc: float | None = None
    precision: float | None = None
    recall: float | None = None
    too_few: bool = False


class ThresholdFacts(_Facts):
    """The decision threshold and what it does on the test split.

    Attributes:
        value: The threshold on the calibrated probability.
        objective: How it was chosen on validation (``f1``, ``cost``, ``precision>=0.4``...).
        called_rate: Share of test leads at or above it.
        precision: Share of called leads that converted.
        recall: Share of converters that were called.
    """

    value: float
    objective: str
    called_rate: float = Field(ge=0, le=1)
    precision: float | None = None
    recall: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, Any], objective: str) -> ThresholdFacts:
        """From a run's ``metrics.json`` (threshold, precision, recall, confusion matrix)."""
        matrix = metrics["confusion_matrix"]
        rows = sum(int(matrix[k]) for k in ("tn", "fp", "fn", "tp"))
        called = int(matrix["tp"]) + int(matrix["fp"])
        return cls(
            value=float(metrics["threshold"]),
            objective=objective,
            called_rate=called / rows if rows else 0.0,
            precision=metrics.get("precision") if called else None,
            recall=metrics.get("recall"),
        )

    def per_100(self) -> str:
        """``"12 of every 100 leads are called, of whom 5 convert"``."""
        called = 100 * self.called_rate
        text = f"{_count(called)} of every 100 leads are called"
        if self.precision is not None:
            text += f", of whom {_count(called * self.precision)} convert"
        return text


def _count(value: float) -> str:
    """Whole leads, but a tenth of one when fewer than one in a hundred."""
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"


class CalibrationFacts(_Facts):
    """How well the probabilities match observed rates on the test split."""

    method: str
    ece: float | None = None
    brier: float | None = None
    mean_probability: float | None = None
    positive_rate: float | None = None


class FeatureFacts(_Facts):
    """One of the most important features."""

    name: str
    importance: float


class GateFacts(_Facts):
    """The champion gate's decision on this version.

    Attributes:
        promoted: The version became champion.
        reason: The gate's reason, as it printed it.
        primary_metric: The metric the gate compared.
        candidate_score: This version's value of it on the shared holdout.
        champion_version: The champion it was compared with (``None``: there was none).
        champion_score: The champion's value on the same rows.
    """

    promoted: bool
    reason: str
    primary_metric: str
    candidate_score: float | None = None
    champion_version: str | None = None
    champion_score: float | None = None

    def sentence(self) -> str:
        """One line for the card."""
        metric = self.primary_metric
        if self.champion_version is None:
            verdict = "Promoted to champion" if self.promoted else "Not promoted"
            return f"{verdict}: {self.reason} (no champion to compare with)."
        scores = (
            f"{metric} {number(self.candidate_score)} against {number(self.champion_score)} "
            "on the same holdout"
        )
        if self.promoted:
            return (
                f"Promoted to champion: it beat version {self.champion_version} ({scores}); "
                f"{self.reason}."
            )
        return (
            f"Not promoted: version {self.champion_version} stays champion ({scores}); "
            f"{self.reason}."
        )


class ModelCardFacts(_Facts):
    """Every fact a model card shows.

    Attributes:
        name: Registered model name.
        version: Registered version (``None`` before registration).
        model: What the estimator is (``XGBoostModel``, with its key settings if wanted).
        created_at: When the run trained it (ISO).
        run_id: The tracking run.
        git_sha: The code's commit.
        data: The training data.
        profile: The training profile (its summary becomes a table).
        test_rows: Rows of the test split.
        test_positives: Converters in the test split.
        metrics: Test metrics, with bootstrap intervals where computed.
        segments: Test metrics per segment, when a segment column is configured.
        threshold: The decision threshold and what it does.
        calibration: Calibration on the test split.
        top_features: The most important features, most important first.
        importance_method: How importance was measured.
        gate: The champion gate's decision.
        leaky_columns_dropped: Columns dropped because they leak the outcome.
        known_limits: Other limits a user must know.
        intended_use: What the model is for, and not for.
    """

    name: str
    version: str | None = None
    model: str
    created_at: str
    run_id: str | None = None
    git_sha: str | None = None
    data: DataFacts
    profile: DataProfile | None = None
    test_rows: int = Field(ge=0)
    test_positives: int = Field(ge=0)
    metrics: tuple[MetricFacts, ...]
    segments: tuple[SegmentFacts, ...] = ()
    threshold: ThresholdFacts
    calibration: CalibrationFacts
    top_features: tuple[FeatureFacts, ...] = ()
    importance_method: str = ""
    gate: GateFacts | None = None
    leaky_columns_dropped: tuple[str, ...] = ()
    known_limits: tuple[str, ...] = ()
    intended_use: str = DEFAULT_INTENDED_USE

    def limits(self) -> list[str]:
        """Known limits: leaky columns, thin segments, then the ones given."""
        found: list[str] = []
        if self.leaky_columns_dropped:
            names = ", ".join(f"`{c}`" for c in self.leaky_columns_dropped)
            found.append(
                f"Dropped before training because they leak the outcome: {names}. Do not add "
                "them back: they are not known when a lead is scored."
            )
        thin = [s for s in self.segments if s.too_few]
        if thin:
            names = ", ".join(f"{s.column}={s.segment} ({s.positives} converters)" for s in thin)
            found.append(f"Segments with too few converters to trust their metrics: {names}.")
        return [*found, *self.known_limits]


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("mlsys.monitoring", "templates"),
        autoescape=False,  # markdown, not HTML: table cells are escaped by the `cell` filter
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(cell=cell, oneline=oneline, number=number, percent=percent)
    env.globals["table"] = table
    return env


def render_model_card(facts: ModelCardFacts) -> str:
    """The model card as markdown.

    Example:
        >>> text = render_model_card(facts)  # doctest: +SKIP
        >>> Path("model_card.md").write_text(text)  # doctest: +SKIP
    """
    template = _environment().get_template("model_card.md.j2")
    return str(template.render(card=facts, limits=facts.limits()))


def model_card_html(facts: ModelCardFacts) -> str:
    """The model card as an HTML fragment (for the evaluation report); raw HTML is escaped."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
    return str(renderer.render(render_model_card(facts)))
