"""`python -m mlsys.predict` and `python -m mlsys.evaluate` (and their scripts) as processes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsys import compose_config, train_model
from mlsys.models import ModelBundle
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Tracked:
    uri: str
    run_dir: Path
    run_id: str


@pytest.fixture(scope="module")
def tracked(small_leads_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Tracked:
    """One logistic regression trained, tracked and registered: version 1, the champion.

    Without the MLflow pyfunc model (``tracker.log_model=false``, seconds saved): the registry
    then points at the run's ``model.joblib``, which is what mlsys loads either way.
    """
    root = tmp_path_factory.mktemp("scoring-store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        result = train_model(
            compose_config(
                [f"data.path={small_leads_csv}", "model=logreg", "tracker.log_model=false"]
            ),
            output_dir=root / "run",
        )
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI")
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    assert result.run_id is not None
    return Tracked(uri=uri, run_dir=root / "run", run_id=result.run_id)


def _run(
    *args: str, uri: str | None = None, script: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / script)] if script else [sys.executable, "-m"]
    env = {**os.environ, **({"MLFLOW_TRACKING_URI": uri} if uri else {})}
    return subprocess.run(
        [*command, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )


@pytest.mark.parametrize(
    ("reference", "label"),
    [
        ("champion", "conversion/v1"),
        ("1", "conversion/v1"),
        ("models:/conversion@champion", "conversion/v1"),
        ("runs:/{run_id}", "run:{run_id}"),
        ("{run_id}", "run:{run_id}"),
    ],
)
def test_registry_and_run_references_resolve_against_a_real_store(
    tracked: Tracked, reference: str, label: str
) -> None:
    from mlsys.scoring import resolve_model

    model = resolve_model(reference.format(run_id=tracked.run_id), tracking_uri=tracked.uri)
    assert model.label == label.format(run_id=tracked.run_id)
    assert model.run_id == tracked.run_id
    assert model.id_column == "lead_id"  # read from the run's schema.json artifact


def test_unknown_version_and_run_name_the_store(tracked: Tracked) -> None:
    from mlsys.errors import TrackingError
    from mlsys.scoring import resolve_model

    with pytest.raises(TrackingError, match=r"has no version 9 .*\(versions: \['1'\]\)"):
        resolve_model("9", tracking_uri=tracked.uri)
    with pytest.raises(TrackingError, match=r"no model\.joblib for run 'f{32}'"):
        resolve_model("runs:/" + "f" * 32, tracking_uri=tracked.uri)


def test_predict_scores_with_the_champion_and_reports_rejects(
    tracked: Tracked, small_leads_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(small_leads_csv, dtype=str, keep_default_na=False).head(500)
    frame.loc[10, "web_visits_30d"] = "many"
    data = tmp_path / "new_leads.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "scores.parquet"
    done = _run(
        "mlsys.predict", str(data), "-o", str(out), "--chunk-size", "128",
        "--summary-json", str(tmp_path / "summary.json"), uri=tracked.uri,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rows rejected    1" in done.stdout
    scores = pd.read_parquet(out)
    assert set(scores["model_version"]) == {"conversion/v1"}
    bundle = ModelBundle.load(tracked.run_dir / "model.joblib")
    kept = pd.read_csv(data).drop(index=10)
    np.testing.assert_allclose(scores["probability"], bundle.predict_proba(kept), rtol=1e-9)
    assert scores["lead_id"].tolist() == kept["lead_id"].tolist()
    rejects = pd.read_csv(tmp_path / "scores.rejects.csv")
    assert rejects[["row", "reason"]].to_dict("records") == [
        {"row": 11, "reason": "web_visits_30d: 'many' is not a number"}
    ]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows_scored"] == 499
    assert summary["model"]["run_id"] == tracked.run_id


@pytest.mark.parametrize("case", ["missing columns", "empty file"])
def test_predict_bad_input_exits_2_with_one_message_and_no_output(
    tracked: Tracked, small_leads_csv: Path, tmp_path: Path, case: str
) -> None:
    data = tmp_path / "in.csv"
    if case == "empty file":
        data.write_text("")
    else:
        pd.read_csv(small_leads_csv).drop(columns=["region", "seniority"]).to_csv(data, index=False)
    done = _run(
        "mlsys.predict", str(data), "-o", str(tmp_path / "s.csv"), "--model", str(tracked.run_dir)
    )
    assert done.returncode == 2, done.stderr
    expected = (
        "lacks the model's column(s) ['region', 'seniority']"
        if case == "missing columns"
        else "is empty (no header line)"
    )
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("kind", ["random bytes", "gzip named .csv", "parquet named .csv"])
def test_predict_binary_input_is_one_error_line(
    tracked: Tracked, small_leads_csv: Path, tmp_path: Path, kind: str
) -> None:
    data = tmp_path / "in.csv"
    if kind == "random bytes":
        data.write_bytes(b"lead_id,industry\n" + np.random.default_rng(0).bytes(5000))
    elif kind == "gzip named .csv":
        data.write_bytes(gzip.compress(small_leads_csv.read_bytes()))
    else:
        pd.read_csv(small_leads_csv).head(50).to_parquet(data)

    done = _run(
        "mlsys.predict", str(data), "-o", str(tmp_path / "s.csv"), "--model", str(tracked.run_dir)
    )

    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()  # no "Exception ignored", no raw bytes
    says = {
        "random bytes": "is not a CSV text file: ",
        "gzip named .csv": "is a gzip-compressed file, but its name does not say so",
        "parquet named .csv": "is a Parquet file, but its name does not say so",
    }[kind]
    assert line.startswith(f"error: input: '{data}' {says}")
    assert "Fix: " in line
    assert line.isprintable()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_predict_removes_temporaries_that_killed_runs_left(
    tracked: Tracked, small_leads_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scores.csv"
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".scores.csv.{int(ended.stdout)}.tmp"  # its writer is gone
    alive = tmp_path / f".scores.csv.{os.getpid()}.tmp"  # a writer still at work
    for path in (stale, alive):
        path.write_text("lead_id,probability\n17,0.")

    done = _run(
        "mlsys.predict", str(small_leads_csv), "-o", str(out), "--model", str(tracked.run_dir)
    )

    assert done.returncode == 0, done.stderr
    assert not stale.exists()
    assert alive.exists()
    assert len(pd.read_csv(out)) == 3000


def test_evaluate_writes_the_report_for_a_run(
    tracked: Tracked, small_leads_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    done = _run(
        "mlsys.evaluate", str(small_leads_csv), "--out", str(out),
        "--model", str(tracked.run_dir), "--segment", "region", "--bootstrap", "20",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "roc_auc" in done.stdout
    for name in ("metrics.json", "report.html", "roc.png", "segments.json", "evaluation.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.6 < metrics["roc_auc"] < 1.0
    label = json.loads((out / "evaluation.json").read_text())["model"]["label"]
    assert label.startswith(f"{tracked.run_dir / 'model.joblib'}@sha256:")


def test_evaluate_script_on_one_class_reports_undefined_metrics(
    tracked: Tracked, small_leads_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(small_leads_csv)
    data = tmp_path / "negatives.parquet"
    frame[frame["converted"] == 0].head(300).to_parquet(data)
    out = tmp_path / "eval"
    done = _run(str(data), "--out", str(out), "--model", str(tracked.run_dir), script="ml-evaluate")
    assert done.returncode == 0, done.stderr
    assert "roc_auc            undefined" in done.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["roc_auc"] is None
    assert "roc_auc" in metrics["undefined_metrics"]
    assert (out / "report.html").is_file()
