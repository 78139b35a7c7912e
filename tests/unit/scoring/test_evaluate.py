"""evaluate_file in-process: labels matched like training, one class, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlsys.errors import DataError, SchemaError
from mlsys.evaluate import _LabelEncoder, evaluate_file
from mlsys.evaluation import ReportOptions
from mlsys.scoring import resolve_model

pytestmark = pytest.mark.unit

CHEAP = ReportOptions(plots=False, bootstrap=0, importance=False)


@pytest.mark.parametrize(
    ("values", "positive", "expected"),
    [
        (pa.array(["1", "0", "1.0", " 0 "]), "1", [1, 0, 1, 0]),
        (pa.array([1, 0, 1]), "1", [1, 0, 1]),
        (pa.array(["Yes", "no ", "yes"]), "yes", [1, 0, 1]),
        (pa.array([True, False]), "True", [1, 0]),
    ],
)
def test_labels_match_the_positive_label_like_training(
    values: pa.Array, positive: str, expected: list[int]
) -> None:
    assert _LabelEncoder("y", positive).encode(values).tolist() == expected


def test_more_than_two_labels_or_an_absent_positive_label_are_refused() -> None:
    with pytest.raises(SchemaError, match="more than two values"):
        _LabelEncoder("y", "1").encode(pa.array(["a", "b", "c"]))
    labels = _LabelEncoder("y", "won")
    labels.encode(pa.array(["yes", "no"]))
    with pytest.raises(SchemaError, match=r"'won' never occurs .*--positive-label"):
        labels.check(Path("f.csv"))


def test_one_class_reports_undefined_metrics_with_reasons(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    frame = pd.read_csv(leads_file)
    data = tmp_path / "negatives.csv"
    frame[frame["converted"] == 0].head(120).to_csv(data, index=False)
    model = resolve_model(str(bundle_files["tabular"]))
    run = evaluate_file(data, tmp_path / "eval", model, options=CHEAP)
    assert run.report is not None
    assert run.report.metrics["roc_auc"] is None
    assert any("roc_auc is undefined" in note for note in run.report.notes)
    assert run.labels == {"1": 0, "0": 120}
    assert "roc_auc            undefined" in run.render()
    written = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert written["rows_scored"] == 120
    assert (tmp_path / "eval" / "report.html").is_file()


def test_probabilities_equal_the_bundle_and_unlabelled_rows_are_rejected(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    frame = pd.read_csv(leads_file).head(200)
    frame.loc[5, "converted"] = np.nan
    data = tmp_path / "in.parquet"
    frame.to_parquet(data)
    model = resolve_model(str(bundle_files["native"]))
    run = evaluate_file(
        data, tmp_path / "eval", model, options=ReportOptions(plots=False, bootstrap=0)
    )
    assert (run.rows_in, run.rows_scored, run.rows_rejected) == (200, 199, 1)
    assert run.reject_reasons == {"converted: missing value": 1}
    labelled = frame.drop(index=5)
    expected = model.bundle.predict_proba(labelled)
    assert run.report is not None
    assert run.report.metrics["n_rows"] == 199
    from sklearn.metrics import roc_auc_score

    assert run.report.metrics["roc_auc"] == pytest.approx(
        roc_auc_score(labelled["converted"], expected), abs=1e-12
    )


def test_missing_label_column_and_empty_file_are_clear_errors(
    tmp_path: Path, leads_file: Path, bundle_files: dict[str, Path]
) -> None:
    model = resolve_model(str(bundle_files["tabular"]))
    data = tmp_path / "unlabelled.csv"
    pd.read_csv(leads_file).drop(columns=["converted"]).to_csv(data, index=False)
    with pytest.raises(SchemaError, match="label column 'converted' is not in"):
        evaluate_file(data, tmp_path / "eval", model, options=CHEAP)
    header = tmp_path / "header.csv"
    header.write_text(leads_file.read_text().splitlines()[0] + "\n")
    with pytest.raises(DataError, match="has a header but no rows"):
        evaluate_file(header, tmp_path / "eval", model, options=CHEAP)


def test_evaluating_on_the_training_file_says_the_metrics_are_inflated(
    tmp_path: Path, leads_file: Path, bundles: dict[str, object]
) -> None:
    from mlsys.data import file_sha256
    from mlsys.models import ModelBundle

    bundle = bundles["tabular"]
    assert isinstance(bundle, ModelBundle)
    trained_on_it = ModelBundle(
        features=bundle.features,
        model=bundle.model,
        calibrator=bundle.calibrator,
        threshold=bundle.threshold,
        schema=bundle.schema,
        metadata={
            **bundle.metadata,
            "data": {**bundle.metadata["data"], "sha256": file_sha256(leads_file)},
        },
    )
    model = resolve_model(str(trained_on_it.save(tmp_path / "model.joblib")))

    run = evaluate_file(leads_file, tmp_path / "eval", model, options=CHEAP)

    assert run.report is not None
    assert "is the file this model was trained on" in run.report.notes[0]
    assert "overstate" in run.render()
    (tmp_path / "other").mkdir()
    untouched = resolve_model(str(bundle.save(tmp_path / "other" / "model.joblib")))
    other = evaluate_file(leads_file, tmp_path / "eval2", untouched, options=CHEAP)
    assert other.report is not None
    assert not any("trained on" in note for note in other.report.notes)
