"""Optuna sweeps through `python -m mlsys.train -m`: smoke, failures, distributed, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _sweep_args(csv: Path, sweep_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlsys.train",
        "-m",
        "hparams_search=logreg",
        f"data.path={csv}",
        f"hydra.sweep.dir={sweep_dir}",
        *extra,
    ]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_smoke_sweep_tracks_trials_summarises_and_offers_the_best(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "sweep"
    uri = os.environ["MLFLOW_TRACKING_URI"]
    done = _run(_sweep_args(small_leads_csv, sweep_dir, "hydra.sweeper.n_trials=3"))
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert "Sweep progress: 3/3 trials done" in log
    assert "Trial 2 finished: value" in log
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert summary["n_complete"] == 3
    assert set(summary["best_params"]) >= {"model.C", "imbalance"}
    trials = pd.read_csv(sweep_dir / "trials.csv")
    assert len(trials) == 3
    assert trials["value"].max() == pytest.approx(summary["best_value"])
    # the objective is the validation metric, never the test split
    best_dir = Path(summary["best_run_dir"])
    validation = json.loads((best_dir / "validation_metrics.json").read_text())
    assert summary["best_value"] == pytest.approx(validation["pr_auc"])
    gate = json.loads((best_dir / "gate.json").read_text())
    assert gate["promoted"] is True
    # trials are grouped in MLflow by the sweep id tag, only the best one registered
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("conversion")
    runs = client.search_runs([experiment.experiment_id])
    sweep_ids = {r.data.tags.get("sweep_id") for r in runs}
    assert sweep_ids == {str(sweep_dir.resolve())}
    assert len(runs) == 3
    assert len(client.search_model_versions("name = 'conversion'")) == 1


def test_failed_trials_are_recorded_and_the_sweep_continues(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "sweep"
    done = _run(
        _sweep_args(
            small_leads_csv,
            sweep_dir,
            "hydra/sweeper/sampler=grid",
            "hydra.sweeper.n_trials=10",
            "hydra.sweeper.max_failure_rate=1.0",
            "hydra.sweeper.params=null",
            "model.C=choice(1.0,-1.0)",
            "registry=none",
        )
    )
    assert done.returncode == 0, done.stderr[-3000:]
    trials = pd.read_csv(sweep_dir / "trials.csv")
    assert sorted(trials["state"]) == ["COMPLETE", "FAIL"]
    assert "FAILED" in done.stdout + done.stderr


def _storage_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def test_two_processes_share_one_study_on_postgresql(
    optuna_database: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    storage = _storage_url(optuna_database)
    study = f"shared-{uuid.uuid4().hex[:6]}"
    common = [
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study}",
        "hydra.sweeper.n_trials=6",
        "registry=none",
    ]
    processes = [
        subprocess.Popen(
            _sweep_args(small_leads_csv, tmp_path / f"p{i}", *common),
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
    rdb = optuna.storages.RDBStorage(storage)
    try:
        loaded = optuna.load_study(study_name=study, storage=rdb)
        trials = loaded.get_trials()
        best = loaded.best_trial
    finally:
        rdb.engine.dispose()  # close the pooled PostgreSQL connections now
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert sorted(t.number for t in trials) == list(range(6))
    run_dirs = [t.user_attrs["mlsys.run_dir"] for t in trials]
    assert len(set(run_dirs)) == 6
    assert {Path(d).parent.name for d in run_dirs} == {"p0", "p1"}  # both did work
    draws = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(draws)) == 6  # the two processes did not replay each other's draws
    summaries = [
        json.loads((tmp_path / f"p{i}" / "sweep_summary.json").read_text()) for i in range(2)
    ]
    # each process saw the whole study when it ended; the last one to finish saw all 6
    assert max(s["n_complete"] for s in summaries) == 6
    assert any(s["best_trial"] == best.number for s in summaries)


@pytest.mark.slow
def test_killed_sweep_resumes_its_study(small_leads_csv: Path, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = "resumable"
    args = _sweep_args(
        small_leads_csv,
        tmp_path / "sweep",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study}",
        "hydra.sweeper.n_trials=6",
        "registry=none",
    )
    process = subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    complete = 0
    while time.monotonic() < deadline and complete < 2:
        time.sleep(0.5)
        try:
            loaded = optuna.load_study(study_name=study, storage=storage)
            complete = len(loaded.get_trials(states=(TrialState.COMPLETE,)))
        except KeyError:
            continue
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert 2 <= complete < 6
    before = {
        t.number: t.params
        for t in optuna.load_study(study_name=study, storage=storage).get_trials(
            states=(TrialState.COMPLETE,)
        )
    }

    resumed = _run(args)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    loaded = optuna.load_study(study_name=study, storage=storage)
    completed = loaded.get_trials(states=(TrialState.COMPLETE,))
    assert len(completed) == 6  # the remaining count was honoured, not 6 more
    kept = {t.number: t.params for t in completed if t.number in before}
    assert kept == before  # completed trials were kept, not re-run
    new = [t.params for t in completed if t.number not in before]
    assert all(p not in before.values() for p in new)  # the resumed sampler did not replay
    interrupted = [
        t
        for t in loaded.get_trials(states=(TrialState.FAIL,))
        if t.user_attrs.get("mlsys.interrupted")
    ]
    assert len(interrupted) <= 1
