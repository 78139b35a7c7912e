"""Optuna sweeps through `python -m mlsys.train -m`: smoke, failures, distributed, resume."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import optuna
import pandas as pd
import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _sweep_args(csv: Path, sweep_dir: Path | None, *extra: str) -> list[str]:
    """A logreg sweep; ``sweep_dir=None`` keeps the default (under ``outputs/`` in the cwd)."""
    chosen = [] if sweep_dir is None else [f"hydra.sweep.dir={sweep_dir}"]
    return [
        sys.executable,
        "-m",
        "mlsys.train",
        "-m",
        "hparams_search=logreg",
        f"data.path={csv}",
        *chosen,
        *extra,
    ]


def _run(args: list[str], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


@dataclass(frozen=True)
class _Sweep:
    """A sweep process started in the background, logging into a file."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, args: list[str], log: Path, cwd: Path = REPO_ROOT) -> _Sweep:
        with log.open("wb") as out:
            process = subprocess.Popen(
                args,
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a test can kill it whole
            )
        return cls(process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        os.killpg(self.pid, sig)
        if sig == signal.SIGKILL:
            self.process.wait(timeout=60)

    def finish(self) -> str:
        """Wait for a clean exit; return the log."""
        self.process.wait(timeout=600)
        text = self.log.read_text()
        assert self.process.returncode == 0, text[-3000:]
        return text


T = TypeVar("T")


def _wait_for(what: str, found: Callable[[], T | None]) -> T:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if (value := found()) is not None:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited 300 s for {what}")


def _mid_trial(storage: str, study: str, pid: int, complete: int = 0) -> FrozenTrial | None:
    """The trial process ``pid`` is inside (started, not yet saved), once ``complete`` are."""
    trials = _trials(storage, study)
    if sum(t.state == TrialState.COMPLETE for t in trials) < complete:
        return None
    for trial in trials:
        if trial.state != TrialState.RUNNING or trial.user_attrs.get("mlsys.pid") != pid:
            continue
        run_dir = Path(trial.user_attrs["mlsys.run_dir"])
        # Hydra opens the trial's log as it starts; the pipeline saves metrics at the end.
        if (run_dir / "train.log").exists() and not (run_dir / "validation_metrics.json").exists():
            return trial
    return None


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


def _trials(storage: str, study: str) -> list[FrozenTrial]:
    rdb = optuna.storages.RDBStorage(storage)
    try:
        return optuna.load_study(study_name=study, storage=rdb).get_trials()
    finally:
        rdb.engine.dispose()  # close the pooled (PostgreSQL) connections now


def _best(trials: list[FrozenTrial]) -> FrozenTrial:
    return max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.values[0])


def _assert_each_trial_in_its_own_dir(trials: Iterable[FrozenTrial]) -> None:
    """Every trial has its own directory, named by its number, holding that trial's run."""
    trials = [t for t in trials if "mlsys.run_dir" in t.user_attrs]
    dirs = [Path(t.user_attrs["mlsys.run_dir"]) for t in trials]
    assert len(set(dirs)) == len(dirs)
    for trial, run_dir in zip(trials, dirs, strict=True):
        assert run_dir.name == f"trial_{trial.number:04d}"
        if trial.state != TrialState.COMPLETE:
            continue
        validation = json.loads((run_dir / "validation_metrics.json").read_text())
        assert validation["pr_auc"] == trial.values[0]
        config = OmegaConf.load(run_dir / "config.yaml")
        assert trial.params["model.C"] == config.model.C


def _assert_best_registered_once(tracking_uri: str, name: str, best: FrozenTrial) -> None:
    """The registered model has one version: the best trial's run."""
    client = MlflowClient(tracking_uri=tracking_uri)
    versions = client.search_model_versions(f"name = '{name}'")
    assert len(versions) == 1
    metadata = json.loads((Path(best.user_attrs["mlsys.run_dir"]) / "metadata.json").read_text())
    assert versions[0].run_id == metadata["tracking_run_id"]
    assert client.get_run(versions[0].run_id).data.metrics["val_pr_auc"] == pytest.approx(
        best.values[0]
    )


@pytest.mark.slow
def test_processes_share_one_study_on_postgresql_and_register_its_best_trial(
    optuna_database: str,
    postgres_database: str,
    mlflow_server: str,
    small_leads_csv: Path,
    tmp_path: Path,
) -> None:
    storage = _storage_url(optuna_database)
    study = f"shared-{uuid.uuid4().hex[:6]}"
    name = f"sweep_{uuid.uuid4().hex[:8]}"  # its own experiment and registered model
    sweep_dir = tmp_path / "sweep"  # one directory for all: trial directories are unique
    args = _sweep_args(
        small_leads_csv,
        sweep_dir,
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study}",
        "hydra.sweeper.n_trials=6",
        f"name={name}",
        f"tracker.uri={mlflow_server}",
        f"registry.registry.lock_uri={postgres_database}",
    )
    sweeps = [_Sweep.start(args, tmp_path / f"{i}.log") for i in range(3)]
    for sweep in sweeps:
        sweep.finish()

    trials = _trials(storage, study)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert sorted(t.number for t in trials) == list(range(6))
    _assert_each_trial_in_its_own_dir(trials)
    assert len({t.user_attrs["mlsys.pid"] for t in trials}) >= 2  # they shared the work
    draws = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(draws)) == 6  # the processes did not replay each other's draws
    best = _best(trials)
    _assert_best_registered_once(mlflow_server, name, best)
    # whichever process ended last, the summary is the whole study's
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert summary["n_complete"] == 6
    assert (summary["best_trial"], summary["best_run_dir"]) == (
        best.number,
        best.user_attrs["mlsys.run_dir"],
    )
    assert len(pd.read_csv(sweep_dir / "trials.csv")) == 6


@pytest.mark.slow
def test_the_study_budget_holds_for_four_processes_started_together(
    optuna_database: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    storage = _storage_url(optuna_database)
    for attempt in range(3):  # a race shows only sometimes: start them together, repeatedly
        study = f"budget-{uuid.uuid4().hex[:6]}"
        cwd = tmp_path / f"attempt{attempt}"
        cwd.mkdir()
        args = _sweep_args(
            small_leads_csv,
            None,  # the default sweep directory, in one cwd for all four
            f"hydra.sweeper.storage={storage}",
            f"hydra.sweeper.study_name={study}",
            "hydra.sweeper.n_trials=7",
            "tracker=none",
            "registry=none",
        )
        sweeps = [_Sweep.start(args, tmp_path / f"{attempt}-{i}.log", cwd) for i in range(4)]
        for sweep in sweeps:
            sweep.finish()

        trials = _trials(storage, study)
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 7, attempt
        _assert_each_trial_in_its_own_dir(trials)
        sweep_dirs = list(cwd.glob("outputs/multirun/*/*"))
        assert len(sweep_dirs) == 4  # started in the same second, yet one directory each
        assert all((d / "sweep_summary.json").is_file() for d in sweep_dirs)
        trial_dirs = sorted(p.name for d in sweep_dirs for p in d.glob("trial_*"))
        assert trial_dirs == [f"trial_{n:04d}" for n in range(7)]


@pytest.mark.slow
def test_killed_sweep_resumes_and_registers_the_best_trial_of_the_dead_process(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = "resumable"
    optuna.create_study(study_name=study, storage=storage, direction="maximize")
    sweep_dir = tmp_path / "sweep"
    args = _sweep_args(
        small_leads_csv,
        sweep_dir,
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study}",
        "hydra.sweeper.n_trials=6",
    )
    sweep = _Sweep.start(args, tmp_path / "killed.log")
    killed = _wait_for(
        "a trial after two complete", lambda: _mid_trial(storage, study, sweep.pid, complete=2)
    )
    sweep.kill()
    before = {t.number: t.params for t in _trials(storage, study) if t.state.is_finished()}
    assert 2 <= len(before) < 6

    # Resumed with trials that fail (a negative C), so the best trial is the dead process's.
    resumed = _run([*args, "model.C=-1.0", "hydra.sweeper.max_failure_rate=1.0"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    trials = _trials(storage, study)
    interrupted = [t.number for t in trials if t.user_attrs.get("mlsys.interrupted")]
    assert interrupted == [killed.number]
    finished = [t for t in trials if t.state.is_finished() and t.number != killed.number]
    assert len(finished) == 6  # the remaining count was run, not 6 more
    assert {t.number: t.params for t in finished if t.number in before} == before
    assert all(t.state == TrialState.FAIL for t in finished if t.number not in before)
    _assert_each_trial_in_its_own_dir(trials)
    best = _best(trials)
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert (summary["best_trial"], summary["best_run_dir"]) == (
        best.number,
        best.user_attrs["mlsys.run_dir"],
    )
    _assert_best_registered_once(os.environ["MLFLOW_TRACKING_URI"], "conversion", best)


@pytest.mark.slow
def test_joblib_launcher_streams_trials_into_their_own_directories(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    done = _run(
        _sweep_args(
            small_leads_csv,
            None,  # the default directory: the workers must resolve the sweep's, not their own
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=4",
        ),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    # streaming: one trial per launch, a worker takes the next one as soon as it is free
    assert log.count("is launching 1 jobs") == 4
    assert "is launching 2 jobs" not in log
    (sweep_dir,) = tmp_path.glob("outputs/multirun/*/*")
    trials = pd.read_csv(sweep_dir / "trials.csv")
    assert list(trials["state"]) == ["COMPLETE"] * 4
    assert sorted(Path(d).name for d in trials["run_dir"]) == [f"trial_{n:04d}" for n in range(4)]
    for row in trials.itertuples():
        run_dir = Path(str(row.run_dir))
        assert run_dir.parent == sweep_dir.absolute()
        validation = json.loads((run_dir / "validation_metrics.json").read_text())
        assert validation["pr_auc"] == row.value
    summary = json.loads((sweep_dir / "sweep_summary.json").read_text())
    assert summary["best_value"] == trials["value"].max()
    best_dir = Path(summary["best_run_dir"])
    assert (
        json.loads((best_dir / "validation_metrics.json").read_text())["pr_auc"]
        == (summary["best_value"])
    )
    client = MlflowClient(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
    (version,) = client.search_model_versions("name = 'conversion'")
    metadata = json.loads((best_dir / "metadata.json").read_text())
    assert version.run_id == metadata["tracking_run_id"]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.slow
def test_trials_of_dead_processes_are_marked_and_run_again(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = "stale"
    host = socket.gethostname()
    left = optuna.create_study(study_name=study, storage=storage, direction="maximize")
    dead = left.ask()  # reserved by a process of this host that died
    dead.set_user_attr("mlsys.host", host)
    dead.set_user_attr("mlsys.pid", _dead_pid())
    orphan = left.ask()  # a process died between reserving and tagging its trial
    alive = left.ask()  # this test process: alive, so its trial keeps its place
    alive.set_user_attr("mlsys.host", host)
    alive.set_user_attr("mlsys.pid", os.getpid())
    args = _sweep_args(
        small_leads_csv,
        tmp_path / "sweep",
        f"hydra.sweeper.storage={storage}",
        f"hydra.sweeper.study_name={study}",
        "hydra.sweeper.n_trials=6",
        "tracker=none",
        "registry=none",
    )
    victim = _Sweep.start(args, tmp_path / "victim.log")
    killed = _wait_for("a trial of the victim", lambda: _mid_trial(storage, study, victim.pid))
    victim.kill(signal.SIGSTOP)  # alive, mid-trial, while the survivor starts and reserves
    survivor = _Sweep.start(args, tmp_path / "survivor.log")
    _wait_for(
        "a complete trial of the survivor",
        lambda: next(
            (
                t
                for t in _trials(storage, study)
                if t.state == TrialState.COMPLETE and t.user_attrs.get("mlsys.pid") == survivor.pid
            ),
            None,
        ),
    )
    victim.kill()  # now it dies mid-trial: the survivor must notice and run its place again
    log = survivor.finish()

    trials = {t.number: t for t in _trials(storage, study)}
    interrupted = [n for n, t in trials.items() if t.user_attrs.get("mlsys.interrupted")]
    assert interrupted == sorted([dead.number, orphan.number, killed.number])
    assert all(trials[n].state == TrialState.FAIL for n in interrupted)
    assert f"Trial {killed.number} was left RUNNING by a process that is gone" in log
    assert trials[alive.number].state == TrialState.RUNNING
    # the live trial holds one place of the budget; the interrupted ones hold none
    assert sum(t.state == TrialState.COMPLETE for t in trials.values()) == 5
    assert f"Trials [{alive.number}] are still running in other processes" in log
