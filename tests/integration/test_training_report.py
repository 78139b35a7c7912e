"""A real `python -m mlsys.train` run writes the evaluation report and MLflow keeps it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import FAST_MODEL_OVERRIDES, REPO_ROOT

pytestmark = pytest.mark.integration

SECTIONS = ("model", "metrics", "confusion", "plots", "gains", "segments", "importance", "shap")


def test_cli_training_run_tracks_a_self_contained_report(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    # tests/conftest.py points MLFLOW_TRACKING_URI (inherited by the CLI) at a fresh store.
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlsys.train",
            f"data.path={small_leads_csv}",
            *FAST_MODEL_OVERRIDES["xgboost"],
            "registry=none",
            "evaluation.report.segment_column=region",
            "evaluation.report.shap=true",
            "evaluation.report.shap_rows=200",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )
    assert done.returncode == 0, done.stderr

    report = run_dir / "report"
    expected = {
        "report.html",
        "metrics.json",
        "classification_report.txt",
        "confusion_matrix.json",
        "confusion_matrix.png",
        "roc.png",
        "precision_recall.png",
        "calibration.png",
        "gains_lift.png",
        "score_distribution.png",
        "threshold_analysis.png",
        "segments.json",
        "feature_importance.json",
        "feature_importance.png",
        "shap_summary.json",
        "shap_summary.png",
    }
    assert {p.name for p in report.iterdir()} == expected
    metadata = json.loads((run_dir / "metadata.json").read_text())
    run_id = metadata["tracking_run_id"]
    assert run_id
    assert "report" in metadata["stage_seconds"]
    log = (run_dir / "train.log").read_text()
    assert "Evaluation report:" in log
    assert "REPORT FAILED" not in log

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    tracked = {a.path for a in client.list_artifacts(run_id, "report")}
    assert {f"report/{name}" for name in expected} == tracked
    run = client.get_run(run_id)
    assert run.data.tags["mlsys.report"] == "report/report.html"
    low, high = run.data.metrics["roc_auc_ci_low"], run.data.metrics["roc_auc_ci_high"]
    assert low < run.data.metrics["roc_auc"] < high

    local = Path(client.download_artifacts(run_id, "report/report.html", str(tmp_path / "dl")))
    page = local.read_text()
    for section in SECTIONS:
        assert f'<section id="{section}">' in page, section
    assert "Segments by region" in page
    assert "xgboost pred_contribs" in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 9  # 7 plots, feature importance, SHAP summary
    assert all(s.startswith("data:image/png;base64,") for s in sources)
