"""The training run writes the evaluation report of its test split and tracks its intervals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlsys import build_pipeline, compose_config
from mlsys.errors import SchemaError
from mlsys.evaluation._html import SECTIONS
from mlsys.tracking import RunRecord
from tests.conftest import FAST_MODEL_OVERRIDES, NO_TRACKING

from .helpers import png_size

pytestmark = pytest.mark.unit


class _Recorder:
    """A tracker that keeps the record it is given."""

    required = True

    def __init__(self) -> None:
        self.records: list[RunRecord] = []

    def prepare(self) -> None:
        pass

    def log_run(self, record: RunRecord) -> str | None:
        self.records.append(record)
        return None


def _overrides(small_leads_csv: Path, *extra: str) -> list[str]:
    return [f"data.path={small_leads_csv}", *NO_TRACKING, *FAST_MODEL_OVERRIDES["logreg"], *extra]


def test_training_writes_the_test_report_before_tracking(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    cfg = compose_config(
        _overrides(small_leads_csv, "evaluation.report.bootstrap=100", "evaluation.report.dpi=40")
    )
    pipeline = build_pipeline(cfg, output_dir=tmp_path)
    recorder = _Recorder()
    pipeline.tracker = recorder

    result = pipeline.run()

    report = tmp_path / "report"
    assert result.artifacts["report"] == report / "report.html"
    page = (report / "report.html").read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    assert "LogisticRegressionModel" in page
    assert "Permutation importance" in page
    for name in ("roc", "calibration", "threshold_analysis", "feature_importance"):
        assert png_size(report / f"{name}.png")[0] == 4.8 * 40  # evaluation.report.dpi=40
    assert png_size(report / "gains_lift.png") == (7.2 * 40, 3.2 * 40)
    metrics = json.loads((report / "metrics.json").read_text())
    top = json.loads((tmp_path / "metrics.json").read_text())
    assert {k: v for k, v in metrics.items() if k != "confidence_intervals"} == top
    assert metrics["confidence_intervals"]["roc_auc"]["resamples"] == 100
    assert metrics["n_rows"] == result.metadata["splits"]["sizes"]["test"]
    # The report exists when the tracker runs (so MLflow logs it), and the intervals are metrics.
    (record,) = recorder.records
    assert record.output_dir == tmp_path
    interval = metrics["confidence_intervals"]["pr_auc"]
    assert record.metrics["pr_auc_ci_low"] == interval["low"]
    assert record.metrics["pr_auc_ci_high"] == interval["high"]
    assert "report" in result.metadata["stage_seconds"]


def test_two_runs_of_one_config_write_byte_identical_metrics_and_report_files(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    overrides = _overrides(
        small_leads_csv, "evaluation.report.dpi=30", "evaluation.report.segment_column=region"
    )
    for run in ("a", "b"):
        build_pipeline(compose_config(overrides), output_dir=tmp_path / run).run()

    report = tmp_path / "a" / "report"
    compared = ["metrics.json", "validation_metrics.json"] + [
        f"report/{p.name}"
        for p in report.iterdir()
        if p.name != "report.html"  # has a clock
    ]
    assert {"report/metrics.json", "report/feature_importance.json", "report/roc.png"} <= set(
        compared
    )
    for name in compared:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_report_can_be_turned_off(small_leads_csv: Path, tmp_path: Path) -> None:
    cfg = compose_config(_overrides(small_leads_csv, "evaluation.report.enabled=false"))

    result = build_pipeline(cfg, output_dir=tmp_path).run()

    assert not (tmp_path / "report").exists()
    assert "report" not in result.artifacts
    assert "report" not in result.metadata["stage_seconds"]


def test_segments_by_a_column_outside_the_features(small_leads_csv: Path, tmp_path: Path) -> None:
    cfg = compose_config(
        _overrides(
            small_leads_csv,
            "evaluation.report.plots=false",
            "evaluation.report.importance=false",
            "evaluation.report.segment_column=account_id",  # a group column, not a feature
            "evaluation.report.max_segments=3",
        )
    )

    build_pipeline(cfg, output_dir=tmp_path).run()

    segments = json.loads((tmp_path / "report" / "segments.json").read_text())
    assert segments["column"] == "account_id"
    assert len(segments["segments"]) == 4
    assert segments["segments"][-1]["segment"].startswith("(other: ")


def test_unknown_segment_column_fails_before_training(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    cfg = compose_config(_overrides(small_leads_csv, "evaluation.report.segment_column=regoin"))

    with pytest.raises(SchemaError, match=r"evaluation\.report\.segment_column: column 'regoin'"):
        build_pipeline(cfg, output_dir=tmp_path).run()

    assert not (tmp_path / "model.joblib").exists()
