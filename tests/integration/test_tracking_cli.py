"""Tracking failures, concurrent promotions, replay and the registry CLI, as processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from mlflow import MlflowClient

from mlsys.registry import CHAMPION, MlflowRegistry
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _cli(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
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


def test_unreachable_tracking_server_does_not_lose_the_run(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    args = [
        f"data.path={small_leads_csv}",
        "model=logreg",
        "tracker.uri=http://127.0.0.1:9",
        f"hydra.run.dir={run_dir}",
    ]
    done = _cli("mlsys.train", *args)
    assert done.returncode == 0, done.stderr
    assert "TRACKING FAILED" in done.stdout + done.stderr
    assert "unreachable" in done.stdout + done.stderr
    assert (run_dir / "model.joblib").is_file()
    assert json.loads((run_dir / "metadata.json").read_text())["tracking_run_id"] is None

    required = _cli(
        "mlsys.train", *args[:-1], "tracker.required=true", f"hydra.run.dir={tmp_path / 'run2'}"
    )
    assert required.returncode == 2
    assert "unreachable" in required.stderr
    assert "Traceback" not in required.stderr
    assert (tmp_path / "run2" / "model.joblib").is_file()


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
