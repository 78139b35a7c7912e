"""The data-quality section of ml-predict and ml-evaluate: one count on the one scoring path."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from mlsys import evaluate, predict
from mlsys.data import Dataset, write_leads
from mlsys.evaluate import evaluate_file
from mlsys.evaluation import Evaluator, ReportOptions
from mlsys.models import ModelBundle
from mlsys.monitoring import DataProfile
from mlsys.scoring import DRIFT_EXIT_CODE, NO_PROFILE, resolve_model, score_file

pytestmark = pytest.mark.unit

FAST = Evaluator(report=ReportOptions(plots=False, importance=False, bootstrap=0))
UNSEEN = "quantum computing"


@pytest.fixture(scope="module")
def profiled(
    tmp_path_factory: pytest.TempPathFactory, bundles: dict[str, ModelBundle], leads: Dataset
) -> Path:
    """The tabular bundle with the profile of its training leads and their scores."""
    bundle = bundles["tabular"]
    profile = DataProfile.learn(leads.features, leads.schema, scores=bundle.score(leads.features))
    path = tmp_path_factory.mktemp("profiled") / "model.joblib"
    return dataclasses.replace(bundle, profile=profile).save(path)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 new leads from the training distribution (another seed)."""
    return write_leads(tmp_path_factory.mktemp("fresh") / "fresh.csv", n_rows=3000, seed=7)


@pytest.fixture(scope="module")
def shifted(fresh: Path) -> Path:
    """The fresh leads with employees x3, 300 rows at an unseen industry and half of
    web_visits_30d emptied."""
    frame = pd.read_csv(fresh)
    frame["employees"] *= 3
    frame.loc[frame.index[:300], "industry"] = UNSEEN
    frame.loc[frame.index[::2], "web_visits_30d"] = None
    path = fresh.with_name("shifted.csv")
    frame.to_csv(path, index=False)
    return path


def test_a_shifted_file_alerts_with_the_same_psi_in_both_clis(
    profiled: Path, shifted: Path, tmp_path: Path
) -> None:
    model = resolve_model(str(profiled))
    summary = score_file(shifted, tmp_path / "scores.csv", model)
    run = evaluate_file(shifted, tmp_path / "eval", model, evaluator=FAST)
    scored, evaluated = summary.data_quality, run.data_quality
    assert scored is not None
    assert evaluated is not None
    assert scored.psi == evaluated.psi  # same rows, same scoring path: identical numbers
    assert scored.drifted
    assert scored.column("employees").above_max > 0
    assert scored.column("industry").unseen == 300
    assert scored.column("industry").unseen_examples == {UNSEEN: 300}
    assert scored.column("web_visits_30d").missing == 1500
    alerted = {(a.column, a.check) for a in scored.alerts if a.severity == "alert"}
    assert {
        ("employees", "psi"),
        ("employees", "out_of_range"),
        ("industry", "unseen"),
        ("web_visits_30d", "missing_rate"),
    } <= alerted
    # ml-predict: the summary JSON, the page beside the output, the verdict line.
    section = summary.to_dict()["data_quality"]
    assert section["checked"]
    assert section["drifted"]
    assert section["columns"][0]["column"] == scored.columns[0].column
    page = (tmp_path / "scores.quality.md").read_text()
    assert page.startswith(f"# Data quality: {shifted}")
    assert UNSEEN in page
    assert "data quality: DRIFT" in summary.render()
    # ml-evaluate: data_quality.json/.md, evaluation.json and the report page.
    written = json.loads((tmp_path / "eval" / "data_quality.json").read_text())
    assert written == json.loads(json.dumps(section))
    assert (
        json.loads((tmp_path / "eval" / "evaluation.json").read_text())["data_quality"] == written
    )
    assert (tmp_path / "eval" / "data_quality.md").read_text() == page
    html = (tmp_path / "eval" / "report.html").read_text()
    assert 'id="quality"' in html
    assert UNSEEN in html
    assert "data quality: DRIFT" in run.render()


def test_an_unshifted_sample_does_not_alert(profiled: Path, fresh: Path, tmp_path: Path) -> None:
    summary = score_file(fresh, tmp_path / "scores.parquet", resolve_model(str(profiled)))
    report = summary.data_quality
    assert report is not None
    assert not report.drifted, [a.message for a in report.alerts]
    assert report.rows == summary.rows_scored
    assert "data quality: no alert in 3,000 rows" in summary.render()


def test_fail_on_drift_exits_3_after_writing_every_output(
    profiled: Path, shifted: Path, fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores.csv"
    args = [str(shifted), "-o", str(out), "--model", str(profiled), "--fail-on-drift"]
    summary_json = tmp_path / "summary.json"
    assert predict.main([*args, "--summary-json", str(summary_json)]) == DRIFT_EXIT_CODE
    err = capsys.readouterr().err
    assert "drift: industry: 300 of 3,000 values" in err
    assert out.exists()
    assert (tmp_path / "scores.quality.md").exists()
    assert json.loads(summary_json.read_text())["data_quality"]["drifted"]

    eval_args = [str(shifted), "--out", str(tmp_path / "eval"), "--model", str(profiled)]
    fast = ["--no-plots", "--no-importance", "--bootstrap", "0"]
    assert evaluate.main([*eval_args, *fast, "--fail-on-drift"]) == DRIFT_EXIT_CODE
    assert "drift: web_visits_30d" in capsys.readouterr().err
    assert (tmp_path / "eval" / "report.html").exists()
    assert evaluate.main([*eval_args, *fast]) == 0  # without the flag, drift is only reported

    clean = [str(fresh), "-o", str(tmp_path / "clean.csv"), "--model", str(profiled)]
    assert predict.main([*clean, "--fail-on-drift"]) == 0


def test_a_bundle_without_profile_says_so_and_cannot_fail_on_drift(
    bundle_files: dict[str, Path], fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = resolve_model(str(bundle_files["tabular"]))
    assert model.bundle.profile is None
    summary = score_file(fresh, tmp_path / "scores.csv", model)
    assert summary.data_quality is None
    assert summary.to_dict()["data_quality"] == {"checked": False, "reason": NO_PROFILE}
    assert "retrain" in (tmp_path / "scores.quality.md").read_text()
    assert f"data quality: {NO_PROFILE}" in summary.render()

    out = tmp_path / "refused.csv"
    args = [str(fresh), "-o", str(out), "--model", str(bundle_files["tabular"])]
    assert predict.main([*args, "--fail-on-drift"]) == 2
    err = capsys.readouterr().err
    assert "error: --fail-on-drift: model" in err
    assert "retrain" in err
    assert not out.exists()  # refused before any scoring


def test_fail_on_drift_with_spark_is_refused_before_spark_starts(
    fresh: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(fresh), "-o", str(tmp_path / "s"), "--engine", "spark", "--fail-on-drift"]
    assert predict.main(args) == 2
    assert "--engine local" in capsys.readouterr().err
