"""`python -m mlsys.train` as a user runs it: a subprocess with shell overrides."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import FAST_MODEL_OVERRIDES, NO_TRACKING, REPO_ROOT

pytestmark = pytest.mark.integration


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlsys.train", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return tmp_path / "run"


def test_default_run_prints_summary_and_writes_artifacts(
    small_leads_csv: Path, run_dir: Path
) -> None:
    done = run_cli(
        f"data.path={small_leads_csv}",
        *FAST_MODEL_OVERRIDES["xgboost"],
        "split=time",
        "calibration=isotonic",
        f"hydra.run.dir={run_dir}",
    )
    assert done.returncode == 0, done.stderr
    assert "roc_auc" in done.stdout
    assert "threshold" in done.stdout
    assert str(run_dir) in done.stdout
    for name in ("model.joblib", "metrics.json", "config.yaml", "overrides.yaml", "metadata.json"):
        assert (run_dir / name).is_file(), name
    # tracked and offered to the registry by default: the first model becomes champion
    assert "MLflow run:" in done.stdout
    assert "PROMOTED to champion (first model" in done.stdout
    overrides = (run_dir / "overrides.yaml").read_text()
    assert "split=time" in overrides
    assert "calibration=isotonic" in overrides


def test_a_leaky_feature_is_repeated_under_the_summary(
    small_leads_csv: Path, run_dir: Path
) -> None:
    done = run_cli(
        f"data.path={small_leads_csv}",
        "data.drop_columns=[]",
        "model=logreg",
        "tracker=none",
        "evaluation.report.enabled=false",
        f"hydra.run.dir={run_dir}",
    )
    assert done.returncode == 0, done.stderr
    summary = done.stdout[done.stdout.index("Artifacts:") :]
    assert "warning: LEAKAGE? Feature 'opportunity_amount'" in summary


def test_cli_runs_are_deterministic(small_leads_csv: Path, tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        done = run_cli(
            f"data.path={small_leads_csv}",
            *FAST_MODEL_OVERRIDES["catboost"],
            *NO_TRACKING,
            f"hydra.run.dir={tmp_path / name}",
        )
        assert done.returncode == 0, done.stderr
        outputs.append((tmp_path / name / "metrics.json").read_bytes())
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0])["roc_auc"] > 0.6


def test_cfg_job_prints_the_composed_config() -> None:
    done = run_cli("model=catboost", "--cfg", "job")
    assert done.returncode == 0, done.stderr
    assert "mlsys.models.CatBoostModel" in done.stdout
    assert "mlsys.features.NativeFeatures" in done.stdout


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


#: Overrides and the message expected on the one `error:` line; every one exits 2.
BAD_INPUTS = {
    "missing_csv": (["data=csv", "data.path={tmp}/nope.csv", "data.target=y"], "not found"),
    "missing_target": (["data.path={leads}", "data.target=won"], "data.target: column 'won'"),
    "empty_file": (["data=csv", "data.path={tmp}/empty.csv", "data.target=y"], "is empty"),
    "one_class": (["data=csv", "data.path={tmp}/one.csv", "data.target=y"], "single class"),
    "wrong_type": (["data.path={leads}", "model.max_depth=deep"], "model.max_depth: got 'deep'"),
    "unknown_param": (["data.path={leads}", "+model.depthh=3"], "model.depthh: unknown parameter"),
    "unknown_override": (["data.path={leads}", "modle=xgboost"], "modle: unknown top-level key"),
    "unknown_option": (["model=xgb"], "model: no option 'xgb'. Did you mean 'xgboost'?"),
    "bad_top_level_type": (["seed=abc"], "seed: got 'abc'"),
    "out_of_range": (["data.path={leads}", "model.max_depth=-1"], "model.max_depth: got -1"),
    "library_rejects_value": (
        [
            "data.path={leads}",
            "model=logreg",
            "imbalance=smote",
            "imbalance.sampling_strategy=0.01",
        ],
        "imbalance: the imbalance stage failed",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_with_one_clear_message(
    case: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    _write(tmp_path / "empty.csv", "")
    _write(tmp_path / "one.csv", "a,b,y\n1,x,0\n2,y,0\n3,z,0\n")
    overrides, expected = BAD_INPUTS[case]
    args = [o.format(tmp=tmp_path, leads=small_leads_csv) for o in overrides]
    done = run_cli(*args, f"hydra.run.dir={tmp_path / 'run'}")
    output = done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1, done.stderr
    assert expected in errors[0]
    assert "Fix: " in errors[0]
    assert "Traceback" not in output


BAD_FILES = {
    "repeated_column": (b"a,b,a,y\n1,2,3,1\n4,5,6,0\n", "has repeated column names ('a' in"),
    "unnamed_column": (b",a,y\n0,1,1\n1,2,0\n", "column(s) [1] of"),
    "infinity": (b"a,y\n1,1\ninf,0\n3,0\n", "column 'a' has 1 value(s) that are not a finite"),
    "gzip_named_csv": (gzip.compress(b"a,y\n1,1\n2,0\n"), "is a gzip-compressed file"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_training_file_exits_2_with_one_error_line(case: str, tmp_path: Path) -> None:
    content, expected = BAD_FILES[case]
    path = tmp_path / "data.csv"
    path.write_bytes(content)

    done = run_cli(
        "data=csv", f"data.path={path}", "data.target=y", f"hydra.run.dir={tmp_path / 'run'}"
    )

    assert done.returncode == 2, done.stderr
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert expected in error
    assert "Fix:" in error
    assert "Traceback" not in done.stderr


def test_data_warnings_are_repeated_under_the_summary(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    frame = pd.read_csv(small_leads_csv, dtype={"employees": str})
    frame.loc[[3, 40], "employees"] = "?"  # a numeric column read as text
    frame["notes"] = None  # a column without a value
    frame.loc[7, "lead_id"] = frame.loc[8, "lead_id"]  # a repeated id
    frame.loc[9, "lead_id"] = None  # a blank id
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)

    done = run_cli(
        f"data.path={path}",
        "model=logreg",
        *NO_TRACKING,
        "evaluation.report.enabled=false",
        f"hydra.run.dir={tmp_path / 'run'}",
    )

    assert done.returncode == 0, done.stderr
    summary = done.stdout[done.stdout.index("Artifacts:") :]
    warnings = [line for line in summary.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 4, summary
    for expected in (
        "column(s) ['notes'] of",
        "1 of 3000 rows of",
        "repeats 1 id on 2 rows",
        "column 'employees' holds numbers except for 2 of ",
    ):
        assert any(expected in w for w in warnings), (expected, warnings)
    metadata = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert [f"warning: {w}" for w in metadata["warnings"]] == warnings


def test_mlsys_errors_exit_2_and_name_the_fix(tmp_path: Path) -> None:
    done = run_cli(
        "data=csv",
        f"data.path={tmp_path}/nope.csv",
        "data.target=y",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert done.returncode == 2
    assert "Fix:" in done.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mlsys.train import cli; cli()",
            "--verbose",
            "data=csv",
            f"data.path={tmp_path}/nope.csv",
            "data.target=y",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" in done.stderr
    assert "DataError" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("error: data.path: file ")


def test_missing_csv_can_fall_back_to_synthetic_data_loudly(tmp_path: Path) -> None:
    target = tmp_path / "regenerated.csv"
    done = run_cli(
        f"data.path={target}",
        "data.generate_if_missing=true",
        "model=logreg",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert done.returncode == 0, done.stderr
    assert "GENERATING the synthetic leads data set" in done.stdout + done.stderr
    assert target.read_bytes() == (REPO_ROOT / "data" / "leads.csv").read_bytes()


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "ml-train"
    assert script.is_file()
    done = subprocess.run(
        [str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0
    assert "train" in done.stdout
