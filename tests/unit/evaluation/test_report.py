"""The report folder: every file, every section, self-contained HTML, honest about one class."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlsys.data import Dataset
from mlsys.errors import ConfigError, DataError, SchemaError
from mlsys.evaluation import (
    PLOT_NAMES,
    Evaluator,
    ReportOptions,
    binary_metrics,
    write_evaluation_report,
)
from mlsys.evaluation._html import SECTIONS
from mlsys.models import ModelBundle

from .helpers import MODELS, fit_bundle, png_size

pytestmark = pytest.mark.unit

QUICK = ReportOptions(plots=False, importance=False, bootstrap=50)


def _scored(n: int = 800, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(np.int64)
    return y, np.clip(rng.normal(0.2 + 0.3 * y, 0.15), 0, 1)


def _strict_json(path: Path) -> dict[str, Any]:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{path.name} holds {constant}: not strict JSON")

    loaded: dict[str, Any] = json.loads(path.read_text(), parse_constant=refuse)
    return loaded


def _self_contained(page: str) -> None:
    assert "<link" not in page
    assert "<script" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert all(s.startswith("data:image/png;base64,") for s in sources), sources


def test_full_report_writes_every_file_and_section(tmp_path: Path) -> None:
    y, p = _scored()
    frame = pd.DataFrame({"region": np.where(np.arange(len(y)) % 5 == 0, "APAC", "EU")})

    report = write_evaluation_report(
        y,
        p,
        0.35,
        tmp_path / "report",
        frame=frame,
        metadata={"name": "leads-xgb", "version": "7", "run_id": "abc123"},
        options=ReportOptions(bootstrap=100, segment_column="region", importance=False, dpi=40),
    )

    assert report.html == tmp_path / "report" / "report.html"
    assert set(report.plots) == set(PLOT_NAMES)
    for name in ("metrics.json", "classification_report.txt", "confusion_matrix.json"):
        assert (tmp_path / "report" / name).is_file(), name
    for name, path in report.plots.items():
        assert path.name == f"{name}.png"
        assert png_size(path)[0] > 0
    metrics = _strict_json(report.metrics_json)
    assert metrics["roc_auc"] == pytest.approx(binary_metrics(y, p, 0.35)["roc_auc"])
    assert set(metrics["confidence_intervals"]) == {"roc_auc", "pr_auc"}
    ci = metrics["confidence_intervals"]["roc_auc"]
    assert ci["low"] <= metrics["roc_auc"] <= ci["high"]
    assert ci["resamples"] == 100
    assert _strict_json(report.files["confusion_matrix"])["tp"] == metrics["confusion_matrix"]["tp"]
    assert _strict_json(report.files["segments"])["column"] == "region"
    page = report.html.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    for fact in ("leads-xgb", "abc123", "0.3500", "Segments by region", "APAC"):
        assert fact in page, fact
    assert page.count("<img") == len(PLOT_NAMES)
    assert "converted" in report.classification_report
    _self_contained(page)


def test_plots_show_the_numbers_of_metrics_json(drawn_text: list[str], tmp_path: Path) -> None:
    y, p = _scored()

    report = write_evaluation_report(
        y, p, 0.35, tmp_path, options=ReportOptions(bootstrap=50, importance=False, dpi=30)
    )

    metrics = _strict_json(report.metrics_json)
    ci = metrics["confidence_intervals"]
    auc, ap = ci["roc_auc"], ci["pr_auc"]
    assert (
        f"model, AUC {metrics['roc_auc']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]" in drawn_text
    )
    assert f"model, AP {metrics['pr_auc']:.3f} [{ap['low']:.3f}, {ap['high']:.3f}]" in drawn_text
    assert f"base rate {metrics['positive_rate']:.3f}" in drawn_text
    assert f"Calibration: ECE {metrics['ece']:.4f} over 10 bins" in drawn_text
    assert f"Confusion matrix at {metrics['threshold']:.3f}" in drawn_text


def test_hostile_values_are_escaped_in_the_page(tmp_path: Path) -> None:
    y, p = _scored(200)
    hostile = '<script>alert("x")</script>'
    frame = pd.DataFrame({"region": np.where(np.arange(200) % 2 == 0, hostile, "EU")})

    report = write_evaluation_report(
        y,
        p,
        0.35,
        tmp_path,
        frame=frame,
        metadata={"name": "<b>model</b>", "note": "a & b"},
        options=ReportOptions(plots=False, importance=False, bootstrap=0, segment_column="region"),
    )

    page = report.html.read_text()
    _self_contained(page)  # no <script anywhere
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;b&gt;model&lt;/b&gt;" in page
    assert "<b>model</b>" not in page
    assert "a &amp; b" in page


def test_one_class_input_gives_a_report_that_says_what_is_undefined(tmp_path: Path) -> None:
    y = np.zeros(60, dtype=np.int64)
    p = np.linspace(0.01, 0.6, 60)

    report = write_evaluation_report(y, p, 0.5, tmp_path, options=ReportOptions(dpi=30))

    assert report.metrics["roc_auc"] is None
    assert report.metrics["pr_auc"] is None
    assert report.intervals["roc_auc"].low is None
    assert set(report.plots) == {"calibration", "score_distribution", "confusion_matrix"}
    notes = " ".join(report.notes)
    assert "roc_auc is undefined: no converters (every label is 0) among 60 rows" in notes
    assert "The ROC plot is not drawn: labels hold a single class (0 of 60 rows" in notes
    page = report.html.read_text()
    assert "undefined" in page
    assert "no converters (every label is 0)" in page
    assert _strict_json(report.metrics_json)["roc_auc"] is None


def test_report_with_a_bundle_has_model_facts_importance_and_optional_shap(
    signal: Dataset, tmp_path: Path
) -> None:
    make, features = MODELS["xgboost"]
    bundle: ModelBundle = fit_bundle(signal, make(), features())
    bundle.metadata.update(name="signal", trained_at="2026-11-26T10:00:00+00:00")
    p = bundle.predict_proba(signal.frame)

    report = write_evaluation_report(
        signal.target,
        p,
        0.3,
        tmp_path,
        frame=signal.frame,
        bundle=bundle,
        options=ReportOptions(bootstrap=20, shap=True, shap_rows=80, plots=False),
    )

    assert report.importance is not None
    assert report.importance.method == "native"
    assert report.shap is not None
    assert report.shap.rows == 80
    assert _strict_json(report.files["feature_importance"])["method"] == "native"
    assert _strict_json(report.files["shap"])["mean_abs_shap"]
    page = report.html.read_text()
    for fact in ("XGBoostModel", "2026-11-26T10:00:00+00:00", "xgboost pred_contribs", "signal"):
        assert fact in page, fact


def test_shap_on_a_model_without_it_is_a_note_not_a_failure(
    signal: Dataset, bundles: dict[str, ModelBundle], tmp_path: Path
) -> None:
    bundle = bundles["logreg"]

    report = write_evaluation_report(
        signal.target,
        bundle.predict_proba(signal.frame),
        0.3,
        tmp_path,
        frame=signal.frame,
        bundle=bundle,
        options=ReportOptions(bootstrap=0, shap=True, plots=False, importance_rows=200),
    )

    assert report.importance is not None
    assert report.importance.method == "permutation"
    assert any("tree models only" in n for n in report.notes)
    assert "tree models only" in report.html.read_text()
    assert report.intervals == {}


def test_options_default_to_the_evaluators(tmp_path: Path) -> None:
    y, p = _scored(200)
    evaluator = Evaluator(top_fractions=(0.3,), report=QUICK)

    report = write_evaluation_report(y, p, 0.4, tmp_path, evaluator=evaluator)

    assert "precision_at_30pct" in report.metrics
    assert report.intervals["roc_auc"].resamples == 50
    assert report.plots == {}
    assert "Plots are off" in report.html.read_text()


@pytest.mark.parametrize(
    ("y", "p", "frame", "message"),
    [
        ([], [], None, "no labelled rows"),
        ([0, 1, 0], [0.1, 0.2], None, "3 labels, 2 probabilities"),
        ([0, 1], [0.1, 0.2], pd.DataFrame({"a": [1]}), "1 rows in frame"),
        ([0, 2], [0.1, 0.2], None, "labels must be 0/1"),
        ([0, 1], [0.1, float("nan")], None, "NaN or infinite"),
    ],
)
def test_bad_input_is_a_data_error(
    y: list[int], p: list[float], frame: pd.DataFrame | None, message: str, tmp_path: Path
) -> None:
    with pytest.raises(DataError, match=message):
        write_evaluation_report(y, p, 0.5, tmp_path, frame=frame, options=QUICK)


def test_segment_column_needs_the_rows_and_must_exist(tmp_path: Path) -> None:
    y, p = _scored(50)
    options = ReportOptions(plots=False, importance=False, segment_column="region")

    with pytest.raises(ConfigError, match="segment_column='region' needs the scored rows"):
        write_evaluation_report(y, p, 0.5, tmp_path, options=options)
    with pytest.raises(SchemaError, match=r"column 'region' is not in the scored rows"):
        write_evaluation_report(
            y, p, 0.5, tmp_path, frame=pd.DataFrame({"source": ["web"] * 50}), options=options
        )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bootstrap", -1, r"evaluation\.report\.bootstrap: got -1 \(int\), expected int >= 0"),
        ("max_segments", 0, r"evaluation\.report\.max_segments: got 0 \(int\), expected int >= 1"),
        ("confidence", 1.5, r"evaluation\.report\.confidence: got 1\.5 \(float\)"),
        ("dpi", 5, r"evaluation\.report\.dpi: got 5 \(int\), expected int >= 20\. Fix: .*dpi=<int"),
        ("seed", -1, r"evaluation\.report\.seed: got -1 \(int\)"),
        ("plots", "no", r"evaluation\.report\.plots: got 'no' \(str\), expected true or false"),
    ],
)
def test_report_options_reject_bad_values_naming_the_key(
    field: str, value: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        ReportOptions(**{field: value})  # type: ignore[arg-type]


def test_a_second_report_in_the_same_folder_leaves_no_stale_files(tmp_path: Path) -> None:
    y, p = _scored(300)
    frame = pd.DataFrame({"region": ["EU", "US", "APAC"] * 100})
    first = write_evaluation_report(
        y, p, 0.4, tmp_path, frame=frame, options=ReportOptions(segment_column="region", dpi=30)
    )
    (tmp_path / "notes.txt").write_text("someone else's file")

    second = write_evaluation_report(np.zeros(300), p, 0.4, tmp_path, options=QUICK)

    assert not (tmp_path / "roc.png").exists()
    assert not (tmp_path / "segments.json").exists()
    assert {p.name for p in tmp_path.iterdir()} == {
        *(path.name for path in second.files.values()),
        "notes.txt",
    }
    assert len(first.files) > len(second.files)
