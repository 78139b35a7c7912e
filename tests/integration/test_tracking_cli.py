"""Tracking failures, concurrent promotions, replay and the registry CLI, as processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlsys.files import write_json
from mlsys.registry import CHAMPION, MlflowRegistry
from mlsys.tracking import MlflowTracker
from tests.conftest import FAST_REPORT, REPO_ROOT

pytestmark = pytest.mark.integration


def _cli(
    module: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _popen(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlsys.train", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that refuses every connection: bound for the test, never listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _down(kind: str, port: int) -> str:
    if kind == "http":
        return f"http://127.0.0.1:{port}"
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/mlflow"


def _one_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return errors[0]


# A store that is down costs seconds: one check with a short timeout before any work, instead
# of minutes of MLflow's retries. The subprocess timeout (60 s) is the bound; MLflow's retries
# on a PostgreSQL store that is down take about 100 s.
@pytest.mark.parametrize("kind", ["http", "postgresql"])
def test_train_fails_fast_on_a_store_that_is_down(
    kind: str, closed_port: int, small_leads_csv: Path, tmp_path: Path
) -> None:
    uri = _down(kind, closed_port)
    run_dir = tmp_path / "run"

    done = _cli(
        "mlsys.train",
        f"data.path={small_leads_csv}",
        "model=logreg",
        f"tracker.uri={uri}",
        f"hydra.run.dir={run_dir}",
        timeout=60,
    )

    error = _one_error(done)
    assert "tracker.uri: " in error
    assert uri in error
    assert "Fix: start" in error
    assert "tracker.required=false" in error
    assert not (run_dir / "model.joblib").exists()  # failed before training


@pytest.mark.parametrize("kind", ["http", "postgresql"])
def test_predict_fails_fast_on_a_store_that_is_down(
    kind: str, closed_port: int, small_leads_csv: Path, tmp_path: Path
) -> None:
    uri = _down(kind, closed_port)
    out = tmp_path / "scores.csv"

    done = _cli(
        "mlsys.predict", str(small_leads_csv), "-o", str(out), "--tracking-uri", uri, timeout=60
    )

    error = _one_error(done)
    assert "--tracking-uri: " in error
    assert uri in error
    assert "Fix: start" in error
    assert not out.exists()


@pytest.mark.parametrize("kind", ["http", "postgresql"])
def test_the_registry_cli_fails_fast_on_a_store_that_is_down(kind: str, closed_port: int) -> None:
    uri = _down(kind, closed_port)

    done = _cli("mlsys.registry", "--uri", uri, "list", timeout=60)

    error = _one_error(done)
    assert "--uri: " in error
    assert uri in error


def test_optional_tracking_says_last_that_the_run_is_not_tracked(
    closed_port: int, small_leads_csv: Path, tmp_path: Path
) -> None:
    uri = _down("http", closed_port)
    run_dir = tmp_path / "run"

    done = _cli(
        "mlsys.train",
        f"data.path={small_leads_csv}",
        "model=logreg",
        f"tracker.uri={uri}",
        "tracker.required=false",
        *FAST_REPORT,
        f"hydra.run.dir={run_dir}",
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("warning: this run is NOT tracked"), done.stdout
    assert uri in last
    assert "tracker.required=false" in last
    assert (run_dir / "model.joblib").is_file()
    metadata = json.loads((run_dir / "metadata.json").read_text())
    assert metadata["tracking_run_id"] is None
    assert "NOT tracked" in metadata["untracked"]


@pytest.mark.slow
def test_runs_starting_together_on_a_new_postgresql_store_are_all_tracked(
    fresh_postgres_store: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    """MLflow creates its tables on first use; four runs doing it at once used to collide."""
    uri = fresh_postgres_store
    name = f"init{uuid.uuid4().hex[:6]}"
    common = [
        f"data.path={small_leads_csv}",
        "model=logreg",
        f"tracker.uri={uri}",
        f"tracker.artifact_location={(tmp_path / 'artifacts').as_uri()}",
        f"name={name}",
    ]
    processes = [
        _popen(
            *common, "tracker.log_model=false", *FAST_REPORT, f"hydra.run.dir={tmp_path / str(i)}"
        )
        for i in range(4)
    ]
    errors = [process.communicate(timeout=300)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, errors

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    ids = {
        json.loads((tmp_path / str(i) / "metadata.json").read_text())["tracking_run_id"]
        for i in range(4)
    }
    assert {run.info.run_id for run in runs} == ids
    assert len(ids) == 4
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert len(client.search_model_versions(f"name = '{name}'")) == 4


def _kill_while_tracking(args: list[str], uri: str, name: str) -> str:
    """Start a training run, SIGKILL it while its MLflow run is open; return that run's id."""
    process = _popen(*args)
    try:
        run_id = _wait_for_open_run(process, MlflowClient(tracking_uri=uri), name)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    assert MlflowClient(tracking_uri=uri).get_run(run_id).info.status == "RUNNING"
    return run_id


def _wait_for_open_run(process: subprocess.Popen[str], client: MlflowClient, name: str) -> str:
    assert process.stderr is not None
    for line in process.stderr:  # the store is ready once the run reaches its track stage
        if "Stage <track>" in line:
            break
    else:
        pytest.fail(f"the run ended before tracking: {process.wait()}")
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    deadline = time.monotonic() + 60
    while not (
        running := client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
    ):
        assert process.poll() is None, "the run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (run,) = running
    return str(run.info.run_id)


@pytest.mark.slow
def test_runs_of_killed_processes_are_marked_killed(small_leads_csv: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    name = f"kill{uuid.uuid4().hex[:6]}"
    args = [
        f"data.path={small_leads_csv}",
        "model=logreg",
        f"tracker.uri={uri}",
        f"name={name}",
        "registry=none",
        *FAST_REPORT,
    ]
    client = MlflowClient(tracking_uri=uri)

    first = _kill_while_tracking([*args, f"hydra.run.dir={tmp_path / 'a'}"], uri, name)
    listed = _cli("mlsys.registry", "--uri", uri, "--name", name, "list")
    assert listed.returncode == 0, listed.stderr
    assert client.get_run(first).info.status == "KILLED"
    assert "ended while recording this run" in client.get_run(first).data.tags["mlsys.killed"]

    second = _kill_while_tracking([*args, f"hydra.run.dir={tmp_path / 'b'}"], uri, name)
    MlflowTracker(uri=uri, experiment=name).prepare()  # what the next run does first
    assert client.get_run(second).info.status == "KILLED"


def _race(store: str, name: str, csv: Path, tmp_path: Path, label: str) -> list[dict[str, object]]:
    common = [f"data.path={csv}", f"tracker.uri={store}", f"name={name}", "tracker.required=true"]
    runs = {
        "logreg": ["model=logreg"],
        "forest": ["model=random_forest", "model.n_estimators=3", "model.max_depth=2"],
    }
    processes = [
        _popen(*common, *extra, f"hydra.run.dir={tmp_path / label / key}")
        for key, extra in runs.items()
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    return [json.loads((tmp_path / label / key / "gate.json").read_text()) for key in runs]


@pytest.mark.parametrize("store", ["embedded", "server"])
def test_concurrent_runs_never_leave_a_losing_champion(
    store: str, request: pytest.FixtureRequest, small_leads_csv: Path, tmp_path: Path
) -> None:
    uri = (
        str(request.getfixturevalue("mlflow_server"))
        if store == "server"
        else f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    )
    for round_ in ("r1", "r2"):  # two fresh races, each from an empty registry
        name = f"race{uuid.uuid4().hex[:6]}"
        gates = _race(uri, name, small_leads_csv, tmp_path, round_)
        champion = MlflowRegistry(name, uri=uri).get_alias(CHAMPION)
        # Without the lock both runs can read "no champion", both promote as "first model", and
        # the slower write wins even if it is the worse model. With it, exactly one run is
        # first and the other compares against it on the same holdout.
        firsts = [g for g in gates if "first model" in str(g["reason"])]
        assert len(firsts) == 1, gates
        versions = MlflowClient(tracking_uri=uri).search_model_versions(f"name = '{name}'")
        scores = {str(v.version): float(v.tags["metric.roc_auc"]) for v in versions}
        assert len(scores) == 2
        assert champion == max(scores, key=lambda v: scores[v]), (scores, gates)


def _advisory_waiters(dsn: str) -> int:
    """How many connections wait for an advisory lock in the database ``dsn`` names."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.slow
def test_promotions_through_a_postgresql_lock_uri_wait_for_each_other(
    mlflow_server: str, postgres_database: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    """Tracking to a server, locking in its PostgreSQL (the team set-up): the same guarantee.

    The test holds the model's lock until both runs wait for it, then lets them race.
    """
    from mlsys.registry import registry_lock

    name = f"pglock{uuid.uuid4().hex[:6]}"
    common = [
        f"data.path={small_leads_csv}",
        f"tracker.uri={mlflow_server}",
        f"name={name}",
        f"registry.registry.lock_uri={postgres_database}",
        "tracker.log_model=false",
        *FAST_REPORT,
    ]
    runs = {
        "logreg": ["model=logreg"],
        "forest": ["model=random_forest", "model.n_estimators=3", "model.max_depth=2"],
    }
    with registry_lock(postgres_database, name):
        processes = [
            _popen(*common, *extra, f"hydra.run.dir={tmp_path / key}")
            for key, extra in runs.items()
        ]
        deadline = time.monotonic() + 240
        while _advisory_waiters(postgres_database) < 2:
            assert all(p.poll() is None for p in processes), "a run did not wait for the lock"
            assert time.monotonic() < deadline
            time.sleep(0.2)
    errors = [process.communicate(timeout=300)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], errors
    assert not [e for e in errors if "no lock_uri" in e]  # not the one-machine fallback

    gates = [json.loads((tmp_path / key / "gate.json").read_text()) for key in runs]
    assert len([g for g in gates if "first model" in str(g["reason"])]) == 1, gates
    versions = MlflowClient(tracking_uri=mlflow_server).search_model_versions(f"name = '{name}'")
    scores = {str(v.version): float(v.tags["metric.roc_auc"]) for v in versions}
    assert len(scores) == 2
    champion = MlflowRegistry(name, uri=mlflow_server).get_alias(CHAMPION)
    assert champion == max(scores, key=lambda v: scores[v]), (scores, gates)


def test_replay_by_run_dir_and_by_run_id(small_leads_csv: Path, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_bytes(small_leads_csv.read_bytes())
    run_dir = tmp_path / "run"
    done = _cli(
        "mlsys.train",
        f"data.path={csv}",
        "model=hist_gb",
        "model.max_iter=60",
        f"hydra.run.dir={run_dir}",
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads((run_dir / "metadata.json").read_text())["tracking_run_id"]

    by_dir = _cli("mlsys.replay", str(run_dir), "--out", str(tmp_path / "replay1"))
    assert by_dir.returncode == 0, by_dir.stderr
    assert "IDENTICAL" in by_dir.stdout
    by_id = _cli("mlsys.replay", run_id, "--out", str(tmp_path / "replay2"))
    assert by_id.returncode == 0, by_id.stderr
    assert (tmp_path / "replay2" / "metrics.json").read_bytes() == (
        run_dir / "metrics.json"
    ).read_bytes()

    # Metrics that differ: exit 1 and DIFFERENT, with each differing metric.
    original = json.loads((run_dir / "metrics.json").read_text())
    tampered = run_dir.parent / "tampered"
    shutil.copytree(run_dir, tampered)
    write_json(tampered / "metrics.json", {**original, "roc_auc": 0.5})
    different = _cli("mlsys.replay", str(tampered), "--out", str(tmp_path / "replay-different"))
    assert different.returncode == 1, different.stderr
    assert different.stdout.startswith("DIFFERENT: replay in ")
    assert f"  roc_auc: 0.5 -> {original['roc_auc']}" in different.stdout.splitlines()
    assert len(different.stdout.splitlines()) == 2  # nothing else differs

    # --track: the replay is a tracked run of its own, offered to the champion gate.
    tracked = _cli(
        "mlsys.replay", str(run_dir), "--track", "--out", str(tmp_path / "replay-tracked")
    )
    assert tracked.returncode == 0, tracked.stderr
    replayed = json.loads((tmp_path / "replay-tracked" / "metadata.json").read_text())
    assert replayed["tracking_run_id"] not in (None, run_id)
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])  # the store the CLI used
    assert client.get_run(replayed["tracking_run_id"]).info.status == "FINISHED"
    gate = json.loads((tmp_path / "replay-tracked" / "gate.json").read_text())
    version = client.get_model_version("conversion", gate["version"])
    assert version.run_id == replayed["tracking_run_id"]

    with csv.open("a") as handle:
        handle.write(handle.name and "")  # same bytes: still replayable
    csv.write_text(csv.read_text().replace(",0\n", ",1\n", 1))
    changed = _cli("mlsys.replay", str(run_dir), "--out", str(tmp_path / "replay3"))
    assert changed.returncode == 2
    assert "data changed since the run" in changed.stderr


def test_registry_cli(small_leads_csv: Path, tmp_path: Path) -> None:
    name = f"cli{uuid.uuid4().hex[:6]}"
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri}
    empty = _cli("mlsys.registry", "--name", name, "champion", env=env)
    assert empty.returncode == 2
    assert "has no champion yet" in empty.stderr
    for i, extra in enumerate(
        [["model=random_forest", "model.n_estimators=2", "model.max_depth=1"], ["model=logreg"]]
    ):
        done = _cli(
            "mlsys.train",
            f"data.path={small_leads_csv}",
            f"name={name}",
            *extra,
            f"hydra.run.dir={tmp_path / str(i)}",
            env=env,
        )
        assert done.returncode == 0, done.stderr
    listing = _cli("mlsys.registry", "--name", name, "list", env=env)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[1].split()[:2] == ["1", "previous_champion"]
    assert "first model" in lines[1]
    assert lines[2].split()[0] == "2"
    assert "champion" in lines[2]
    champion = json.loads(
        _cli("mlsys.registry", "--name", name, "--json", "champion", env=env).stdout
    )
    assert champion["champion"]["version"] == "2"

    promoted = _cli("mlsys.registry", "--name", name, "promote", "1", "--reason", "audit", env=env)
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.strip() == "version 1 is now champion (replaced: 2); reason: audit"
    assert MlflowRegistry(name, uri=uri).get_alias(CHAMPION) == "1"
    rolled = _cli("mlsys.registry", "--name", name, "rollback", "--reason", "undo", env=env)
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == "version 2 is champion again (rolled back: 1); reason: undo"
    assert MlflowRegistry(name, uri=uri).get_alias(CHAMPION) == "2"

    compared = _cli(
        "mlsys.registry",
        "--name",
        name,
        "--json",
        "compare",
        "1",
        "2",
        "--data",
        str(small_leads_csv),
        env=env,
    )
    assert compared.returncode == 0, compared.stderr
    rows = json.loads(compared.stdout)["versions"]
    assert rows["2"]["roc_auc"] > rows["1"]["roc_auc"]

    offered = _cli(
        "mlsys.registry", "--name", name, "--json", "offer", str(tmp_path / "0"), env=env
    )
    assert offered.returncode == 0, offered.stderr
    decision = json.loads(offered.stdout)["decision"]  # run 0 is version 1: not registered again
    assert (decision["already_registered"], decision["promoted"], decision["version"]) == (
        True,
        False,
        "1",
    )
    assert len(MlflowRegistry(name, uri=uri).versions()) == 2
    gate = json.loads((tmp_path / "0" / "gate.json").read_text())
    assert "first model" in gate["reason"]  # the run keeps the decision made when it was trained

    missing = _cli("mlsys.registry", "--name", name, "promote", "9", "--reason", "x", env=env)
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
