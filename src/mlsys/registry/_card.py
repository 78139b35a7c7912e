"""The model card of a registered version, built from what its run left behind.

:func:`write_model_card` is called by the champion gate for every version it registers (a
training run's offer, a sweep's, ``ml-register offer``: all go through
:meth:`~mlsys.registry.ChampionGate.offer`). The facts come from the candidate (bundle: data
summary, training profile, calibrator; test metrics; test labels) and, when the run directory
has them, from its files: ``metadata.json`` (code version, date range), ``config.yaml`` (leaky
columns dropped), ``report/metrics.json`` (bootstrap intervals), ``report/segments.json``,
``report/feature_importance.json`` and ``test_predictions.csv`` (mean probability). The card is
written to ``model_card.md`` in the run directory and returned for the registry to attach.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from mlsys.files import write_text
from mlsys.monitoring import (
    CalibrationFacts,
    DataFacts,
    FeatureFacts,
    GateFacts,
    MetricFacts,
    ModelCardFacts,
    SegmentFacts,
    ThresholdFacts,
    render_model_card,
)
from mlsys.registry._registry import CARD_FILE

if TYPE_CHECKING:
    from mlsys.registry._gate import Candidate, GateDecision

__all__ = ["CARD_FILE", "card_facts", "write_model_card"]

log = logging.getLogger(__name__)

CARD_METRICS: Final = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "precision_at_10pct")
TOP_FEATURES: Final = 10


def write_model_card(
    candidate: Candidate, decision: GateDecision, *, name: str, run_dir: Path | None = None
) -> str:
    """Build the card of ``decision.version``, write ``model_card.md``, return the markdown.

    Args:
        candidate: What the gate was offered.
        decision: What it decided (the version, the champion compared with).
        name: The registered model's name.
        run_dir: The run directory (default: the folder of the candidate's bundle).
    """
    folder = run_dir or candidate.bundle_path.parent
    text = render_model_card(card_facts(candidate, decision, name=name, run_dir=folder))
    if folder.is_dir():
        write_text(folder / CARD_FILE, text)
    return text


def card_facts(
    candidate: Candidate, decision: GateDecision, *, name: str, run_dir: Path
) -> ModelCardFacts:
    """Every fact of the card; optional run-directory files add detail where present."""
    bundle = candidate.bundle
    meta = bundle.metadata
    run_meta = _json(run_dir / "metadata.json") or {}
    config = _config(run_dir)
    report = _json(run_dir / "report" / "metrics.json") or {}
    metrics = candidate.metrics
    labels = np.asarray(candidate.holdout_labels)
    segments = _segments(_json(run_dir / "report" / "segments.json"))
    importance = _json(run_dir / "report" / "feature_importance.json") or {}
    return ModelCardFacts(
        name=name,
        version=decision.version,
        model=str(meta.get("model", type(bundle.model).__name__)),
        created_at=str(meta.get("trained_at", run_meta.get("started_at", ""))),
        run_id=candidate.run_id,
        git_sha=run_meta.get("git_sha"),
        data=_data(meta.get("data", {}), run_meta, config),
        profile=bundle.profile,
        test_rows=len(labels),
        test_positives=int(labels.sum()),
        metrics=_metrics(metrics, report.get("confidence_intervals", {})),
        segments=segments,
        threshold=ThresholdFacts.from_metrics(
            metrics, getattr(candidate.evaluator.threshold, "objective", "")
        ),
        calibration=CalibrationFacts(
            method=type(bundle.calibrator).__name__,
            ece=metrics.get("ece"),
            brier=metrics.get("brier"),
            mean_probability=_mean_probability(run_dir / "test_predictions.csv"),
            positive_rate=metrics.get("positive_rate"),
        ),
        top_features=tuple(
            FeatureFacts(name=str(row["column"]), importance=float(row["value"]))
            for row in importance.get("importance", [])[:TOP_FEATURES]
        ),
        importance_method=str(importance.get("description") or importance.get("method") or ""),
        gate=_gate(decision),
        leaky_columns_dropped=_leaky_dropped(config),
    )


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else None


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    from omegaconf import OmegaConf

    loaded = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
    return {str(k): v for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def _data(summary: dict[str, Any], run_meta: dict[str, Any], config: dict[str, Any]) -> DataFacts:
    dates: dict[str, list[str]] = run_meta.get("dates", {})
    wanted = (config.get("split") or {}).get("date_column")
    column = wanted if wanted in dates else next(iter(dates), None)
    span = dates.get(column, [None, None]) if column else [None, None]
    return DataFacts(
        file=str(summary.get("source", "")),
        sha256=str(summary.get("sha256", "")),
        rows=int(summary.get("rows", 0)),
        positive_rate=float(summary.get("positive_rate", 0.0)),
        target=str(summary.get("target", "")),
        positive_label=str(summary.get("positive_label", "")),
        date_column=column,
        date_from=span[0],
        date_to=span[1],
    )


def _metrics(metrics: dict[str, Any], intervals: dict[str, Any]) -> tuple[MetricFacts, ...]:
    out = []
    for metric in CARD_METRICS:
        if metric not in metrics:
            continue
        interval = intervals.get(metric) or {}
        out.append(
            MetricFacts(
                name=metric,
                value=metrics[metric],
                low=interval.get("low"),
                high=interval.get("high"),
                confidence=interval.get("confidence"),
            )
        )
    return tuple(out)


def _segments(report: dict[str, Any] | None) -> tuple[SegmentFacts, ...]:
    if not report:
        return ()
    return tuple(
        SegmentFacts(
            column=str(report["column"]),
            segment=str(s["segment"]),
            rows=int(s["rows"]),
            positives=int(s["positives"]),
            roc_auc=s.get("roc_auc"),
            pr_auc=s.get("pr_auc"),
            precision=s.get("precision"),
            recall=s.get("recall"),
            too_few=bool(s.get("too_few", False)),
        )
        for s in report.get("segments", [])
    )


def _mean_probability(path: Path) -> float | None:
    if not path.is_file():
        return None
    import pandas as pd

    values = pd.read_csv(path, usecols=["probability"])["probability"]
    return float(values.mean()) if len(values) else None


def _gate(decision: GateDecision) -> GateFacts:
    metric = decision.primary_metric
    return GateFacts(
        promoted=decision.promoted,
        reason=decision.reason,
        primary_metric=metric,
        candidate_score=decision.candidate_scores.get(metric),
        champion_version=decision.previous_champion,
        champion_score=decision.champion_scores.get(metric),
    )


def _leaky_dropped(config: dict[str, Any]) -> tuple[str, ...]:
    data = config.get("data") or {}
    dropped = set(data.get("drop_columns") or ())
    return tuple(c for c in data.get("leaky_columns") or () if c in dropped)
