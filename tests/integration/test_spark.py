"""Spark scoring (mlsys.scoring.spark, ml-predict --engine spark) on a real local[2] Spark.

One SparkSession for the module; one tracked logistic regression (with its MLflow pyfunc
model, for ``spark_udf``). Inputs are small synthetic lead files with corrupted rows mixed in.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest

from mlsys import compose_config, train_model
from mlsys.data import write_leads
from mlsys.errors import BundleError, SchemaError, TrackingError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pyspark = pytest.importorskip("pyspark", reason="the spark dependency group is not installed")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    # pyspark 4.3 warns that it does not fully support pandas 3; mlsys's Spark path exchanges
    # Arrow batches (mapInArrow), not pandas frames. spark_udf goes through pandas and works.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


@dataclass(frozen=True)
class Tracked:
    uri: str
    bundle: Path


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlsys-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "512m")
        # Small batches: several per task, so the per-executor model cache is exercised.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "300")
        .getOrCreate()
    )
    # Workers run this interpreter (the venv holding mlsys), whatever python3 PATH finds.
    session.sparkContext.pythonExec = sys.executable
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Tracked:
    """A logistic regression tracked with its pyfunc model: version 1, the champion."""
    root = tmp_path_factory.mktemp("spark-store")
    data = write_leads(root / "train.csv", n_rows=2000)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    try:
        train_model(
            compose_config(
                [
                    f"data.path={data}",
                    "model=logreg",
                    "evaluation.report.plots=false",
                    "evaluation.report.importance=false",
                ]
            ),
            output_dir=root / "run",
        )
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI")
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved
    return Tracked(uri=uri, bundle=root / "run" / "model.joblib")


@pytest.fixture(scope="module")
def leads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """1,500 new leads as CSV and Parquet, with corrupted rows of every kind mixed in."""
    root = tmp_path_factory.mktemp("spark-leads")
    clean = write_leads(root / "clean.csv", n_rows=1500, seed=7)
    frame = pd.read_csv(clean, dtype=str, keep_default_na=False)
    frame.loc[10, "web_visits_30d"] = "many"  # not a number
    frame.loc[20, "employees"] = "inf"  # not a finite number
    frame.loc[30, "is_free_email"] = "maybe"  # not a boolean
    frame.loc[40, "lead_id"] = ""  # the id is required
    frame.loc[50, "pages_per_visit"] = "NA"  # missing: imputed, not rejected
    frame.loc[60, ["web_visits_30d", "requested_demo"]] = ["lots", "perhaps"]  # two problems
    csv = root / "new_leads.csv"
    frame.to_csv(csv, index=False)
    with csv.open("a") as handle:
        handle.write("L999999,A00001,2024-01-01,healthcare\n")  # malformed: too few fields
    parquet = root / "new_leads.parquet"
    typed = pd.read_csv(csv.with_name("clean.csv")).astype({"web_visits_30d": "string"})
    typed.loc[10, "web_visits_30d"] = "many"  # a text column of numbers with one word
    typed.loc[20, "employees"] = np.inf
    typed.loc[40, "lead_id"] = None
    typed.to_parquet(parquet, index=False)
    return {"csv": csv, "parquet": parquet}


def _local(source: Path, bundle: Path, out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    from mlsys.scoring import resolve_model, score_file

    summary = score_file(source, out / "local.parquet", resolve_model(str(bundle)))
    rejects = pd.read_csv(out / "local.rejects.csv", dtype=str, keep_default_na=False)
    assert summary.rows_in == summary.rows_scored + summary.rows_rejected
    return pd.read_parquet(out / "local.parquet"), rejects.drop(columns="row")


def _read_csv_dir(path: Path) -> pd.DataFrame:
    parts = [
        pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(path.glob("part-*.csv"))
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_same_scores_rejects_and_counts_as_ml_predict(
    spark: SparkSession, tracked: Tracked, leads: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    from mlsys.predict import main

    local, local_rejects = _local(leads[kind], tracked.bundle, tmp_path)
    out, rejects = tmp_path / "spark.parquet", tmp_path / "spark.rejects.csv"
    code = main(
        [str(leads[kind]), "-o", str(out), "--engine", "spark", "--model", str(tracked.bundle)]
    )
    assert code == 0
    scored = pd.read_parquet(out)
    assert list(scored.columns) == list(local.columns)
    assert len(scored) == len(local)
    assert len(local) > 1400
    merged = local.merge(scored, on="lead_id", suffixes=("_local", "_spark"), validate="1:1")
    assert len(merged) == len(local)
    diff = np.abs(merged["probability_local"] - merged["probability_spark"]).max()
    assert diff <= 1e-12
    assert (merged["decision_local"] == merged["decision_spark"]).all()
    assert set(scored["model_version"]) == set(local["model_version"])
    spark_rejects = _read_csv_dir(rejects)
    assert list(spark_rejects.columns) == list(local_rejects.columns)
    key = ["lead_id", "reason"]
    assert sorted(map(tuple, spark_rejects[key].to_numpy().tolist())) == sorted(
        map(tuple, local_rejects[key].to_numpy().tolist())
    )
    assert len(spark_rejects) == (6 if kind == "csv" else 3)


def test_scores_a_catalog_table_and_reports_counts(
    spark: SparkSession, tracked: Tracked, leads: dict[str, Path], tmp_path: Path
) -> None:
    from mlsys.scoring.spark import score_path

    spark.read.parquet(str(leads["parquet"])).createOrReplaceTempView("new_leads")
    summary = score_path(
        "new_leads", str(tmp_path / "s.csv"), str(tracked.bundle), spark=spark, threshold=0.5
    )
    assert (summary.rows_in, summary.rows_rejected) == (1500, 3)
    assert summary.probability["p50"] is not None
    written = _read_csv_dir(tmp_path / "s.csv")
    assert len(written) == summary.rows_scored == 1497
    assert (written["decision"].astype(int) == (written["probability"].astype(float) >= 0.5)).all()


def test_pyfunc_spark_udf_gives_the_same_scores(
    spark: SparkSession,
    tracked: Tracked,
    leads: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow.pyfunc
    from mlflow.models import get_model_info
    from pyspark.sql import functions as sf

    from mlsys.scoring.spark import score_dataframe

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracked.uri)
    uri = "models:/conversion@champion"
    features = get_model_info(uri).signature.inputs.input_names()
    frame = spark.read.parquet(str(leads["parquet"])).where("lead_id not in ('L000011', 'L000021')")
    frame = frame.where(sf.col("lead_id").isNotNull())
    udf = mlflow.pyfunc.spark_udf(
        spark, uri, result_type="probability double, decision long", env_manager="local"
    )
    pyfunc = frame.select("lead_id", udf(sf.struct(*features)).alias("s")).select(
        "lead_id", "s.probability", "s.decision"
    )
    scored, rejects = score_dataframe(frame, "champion", tracking_uri=tracked.uri)
    assert rejects.count() == 0
    # collect(), not toPandas(): pyspark 4.3's Arrow toPandas breaks on pandas 3.
    merged = _frame(pyfunc).merge(_frame(scored), on="lead_id", validate="1:1")
    assert len(merged) == 1497
    assert np.abs(merged["probability_x"] - merged["probability_y"]).max() <= 1e-12
    assert (merged["decision_x"] == merged["decision_y"]).all()


def _frame(df: Any) -> pd.DataFrame:
    return pd.DataFrame([row.asDict() for row in df.collect()])


def _no_jobs(spark: SparkSession, call: Any) -> None:
    """Run ``call`` (which must raise) and check Spark ran no job for it."""
    context = spark.sparkContext
    group = f"mlsys-check-{id(call)}"
    context.setJobGroup(group, "must not run")
    try:
        call()
    finally:
        jobs = context.statusTracker().getJobIdsForGroup(group)
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
    assert jobs == []


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [
        ("missing column", SchemaError, r"lacks the model's column\(s\) \['industry'\].*Fix:"),
        ("missing id column", SchemaError, r"lacks the model's id column 'lead_id'.*Fix: pass id_"),
        ("wrong type", SchemaError, r"column 'employees' .* has type date32.*Fix: store it"),
        ("unknown version", TrackingError, r"no version 7 .*Fix: pick one"),
        ("unknown reference", BundleError, r"'nothing/here' is not an existing file.*Fix:"),
        ("corrupt bundle", BundleError, r"does not match its recorded sha256.*Fix: restore"),
    ],
)
def test_bad_input_fails_on_the_driver_before_any_spark_job(
    spark: SparkSession,
    tracked: Tracked,
    leads: dict[str, Path],
    tmp_path: Path,
    case: str,
    error: type[Exception],
    message: str,
) -> None:
    from pyspark.sql import functions as sf

    from mlsys.scoring.spark import score_dataframe

    frame = spark.read.parquet(str(leads["parquet"]))
    model = str(tracked.bundle)
    if case == "missing column":
        frame = frame.drop("industry")
    elif case == "missing id column":
        frame = frame.drop("lead_id")
    elif case == "wrong type":
        frame = frame.withColumn("employees", sf.current_date())
    elif case == "unknown version":
        model = "7"
    elif case == "unknown reference":
        model = "nothing/here"
    else:
        shutil.copy(tracked.bundle, tmp_path / "model.joblib")
        shutil.copy(f"{tracked.bundle}.sha256", tmp_path / "model.joblib.sha256")
        with (tmp_path / "model.joblib").open("r+b") as handle:
            handle.seek(100)
            handle.write(b"\x00corrupt\x00")
        model = str(tmp_path / "model.joblib")

    def call() -> None:
        with pytest.raises(error, match=message):
            score_dataframe(frame, model, tracking_uri=tracked.uri)

    _no_jobs(spark, call)


def test_executor_refuses_a_bundle_that_changed_in_transit(tracked: Tracked) -> None:
    from mlsys.scoring import spark as module

    data = tracked.bundle.read_bytes()
    job = SimpleNamespace(shipped=SimpleNamespace(value=(data[:-1] + b"x", "0" * 64)))
    job.sha256 = "0" * 64
    with pytest.raises(BundleError, match="does not match its recorded sha256"):
        module._executor_model(job)  # type: ignore[arg-type]


def test_cli_error_names_the_fix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mlsys.predict import main

    code = main([str(tmp_path / "none.parquet"), "-o", str(tmp_path / "s.parquet"), "--engine",
                 "spark"])  # fmt: skip
    assert code == 2
    assert "error: input: " in capsys.readouterr().err
