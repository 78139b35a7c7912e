"""Tracker and registry contracts on the embedded store and on an MLflow server on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from omegaconf import OmegaConf

from mlsys import TrainingResult, compose_config, train_model
from mlsys.files import file_sha256, write_json, write_text
from mlsys.models import ModelBundle
from mlsys.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    InMemoryRegistry,
    MlflowRegistry,
    ModelRegistry,
    promote_version,
    rollback,
)
from mlsys.tracking import MlflowTracker, NullTracker, RunRecord, Tracker
from tests.conftest import FAST_MODEL_OVERRIDES, REPO_ROOT

pytestmark = pytest.mark.integration


def _unique() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _train(
    uri: str, name: str, csv: Path, out: Path, extra: list[str] | None = None
) -> TrainingResult:
    overrides = [
        f"data.path={csv}",
        f"tracker.uri={uri}",
        f"name={name}",
        *(extra or FAST_MODEL_OVERRIDES["logreg"]),
    ]
    return train_model(compose_config(overrides), output_dir=out)


# --- Tracker contract: every implementation ---------------------------------------------------


def _record(tmp_path: Path, small_leads_csv: Path) -> RunRecord:
    result = train_model(
        compose_config(
            [f"data.path={small_leads_csv}", "tracker=none", "registry=none", "model=logreg"]
        ),
        output_dir=tmp_path / "run",
    )
    return RunRecord(
        run_name="contract",
        params={"model._target_": "mlsys.models.LogisticRegressionModel", "seed": 42},
        metrics={"roc_auc": float(result.metrics["roc_auc"])},
        tags={"data_sha256": result.metadata["data"]["sha256"]},
        output_dir=result.output_dir,
        bundle_path=result.artifacts["model"],
        timings={"fit": 0.1},
        dataset={"name": "leads", "source": str(small_leads_csv), "sha256": "ab" * 32},
        input_example=pd.read_csv(small_leads_csv).head(3),
    )


def _store_uri(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "server":
        return str(request.getfixturevalue("mlflow_server"))
    return f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"


@pytest.fixture(params=["null", "embedded", "server"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Tracker:
    if request.param == "null":
        return NullTracker()
    return MlflowTracker(uri=_store_uri(request.param, request, tmp_path), experiment=_unique())


def test_tracker_contract(tracker: Tracker, tmp_path: Path, small_leads_csv: Path) -> None:
    assert isinstance(tracker, Tracker)
    # A store that records runs is required by default: a run it cannot record fails.
    assert tracker.required is isinstance(tracker, MlflowTracker)
    tracker.prepare()
    run_id = tracker.log_run(_record(tmp_path, small_leads_csv))
    assert run_id is None or isinstance(run_id, str)
    if isinstance(tracker, MlflowTracker):
        assert run_id


def test_a_run_is_created_without_mlflows_context_lookup_and_keeps_its_source_tags(
    tmp_path: Path, small_leads_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MLflow's run-context tags (a git lookup) cost more than the rest of the bookkeeping.
    from mlflow.tracking.context import registry as context

    def refuse(tags: object = None) -> None:
        raise AssertionError("MLflow's run context was resolved")

    monkeypatch.setattr(context, "resolve_tags", refuse)
    record = _record(tmp_path, small_leads_csv)
    record = RunRecord(**{**record.__dict__, "tags": {**record.tags, "git_sha": "abc123"}})
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"

    run_id = MlflowTracker(uri=uri, experiment=_unique()).log_run(record)

    run = MlflowClient(tracking_uri=uri).get_run(str(run_id))
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.source.git.commit"] == "abc123"
    assert run.data.tags["mlflow.source.type"] == "LOCAL"
    assert run.data.tags["mlflow.runName"] == "contract"
    assert run.data.metrics["seconds_fit"] == pytest.approx(0.1)
    assert run.data.params["seed"] == "42"


def test_mlflow_tracker_logs_params_metrics_tags_artifacts_data_and_model(
    tracking_uri: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    name = _unique()
    result = _train(
        tracking_uri, name, small_leads_csv, tmp_path / "run", ["model=logreg", "registry=none"]
    )
    assert result.run_id
    client = MlflowClient(tracking_uri=tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.params["model._target_"] == "mlsys.models.LogisticRegressionModel"
    assert run.data.params["seed"] == "42"
    assert run.data.metrics["roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert "val_pr_auc" in run.data.metrics
    assert "seconds_fit" in run.data.metrics
    for tag in ("git_sha", "data_sha256", "config_hash", "user"):
        assert tag in run.data.tags, tag
    assert run.data.tags["data_sha256"] == result.metadata["data"]["sha256"]
    from mlsys.data import file_sha256

    assert run.data.tags["mlsys.bundle_sha256"] == file_sha256(result.artifacts["model"])
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"model.joblib", "metrics.json", "config.yaml", "overrides.yaml"} <= artifacts
    inputs = run.inputs.dataset_inputs
    assert inputs
    assert inputs[0].dataset.digest == result.metadata["data"]["sha256"][:36]
    # The logged MLflow model serves the same probabilities as the bundle.
    import mlflow.pyfunc

    model = mlflow.pyfunc.load_model(run.data.tags["mlsys.model_uri"])
    rows = pd.read_csv(small_leads_csv).head(20)
    served = model.predict(rows)
    np.testing.assert_allclose(served["probability"], result.bundle.predict_proba(rows))
    assert model.metadata.signature is not None
    # A lead may lack any value, integer and boolean columns included: MLflow's schema
    # enforcement must let it through to the bundle, in memory and as JSON for the REST server.
    gappy = rows.astype({"web_visits_30d": "float64", "is_free_email": "object"})
    gappy.loc[0, "web_visits_30d"] = np.nan
    gappy.loc[1, "is_free_email"] = None
    np.testing.assert_allclose(
        model.predict(gappy)["probability"], result.bundle.predict_proba(gappy)
    )
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    payload = {"dataframe_split": json.loads(gappy.to_json(orient="split", index=False))}
    parsed = infer_and_parse_data(payload, model.metadata.get_input_schema())
    np.testing.assert_allclose(
        model.predict(parsed)["probability"], result.bundle.predict_proba(gappy)
    )


def test_sweep_id_and_user_tags_reach_the_run(small_leads_csv: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    result = _train(
        uri,
        _unique(),
        small_leads_csv,
        tmp_path / "run",
        ["model=logreg", "registry=none", "+tags.team=growth"],
    )
    run = MlflowClient(tracking_uri=uri).get_run(str(result.run_id))
    assert run.data.tags["team"] == "growth"


# --- Registry contract: every implementation ---------------------------------------------------


@pytest.fixture(params=["memory", "embedded", "server"])
def registry_and_runs(
    request: pytest.FixtureRequest, small_leads_csv: Path, tmp_path: Path
) -> tuple[ModelRegistry, list[TrainingResult]]:
    """A registry and two tracked runs (not yet registered) of the same schema."""
    uri = _store_uri(request.param, request, tmp_path)
    name = _unique()
    runs = [
        _train(uri, name, small_leads_csv, tmp_path / f"r{i}", [*overrides, "registry=none"])
        for i, overrides in enumerate([["model=logreg"], FAST_MODEL_OVERRIDES["xgboost"]])
    ]
    registry: ModelRegistry = (
        InMemoryRegistry(name) if request.param == "memory" else MlflowRegistry(name, uri=uri)
    )
    return registry, runs


def test_registry_contract(registry_and_runs: tuple[ModelRegistry, list[TrainingResult]]) -> None:
    registry, runs = registry_and_runs
    assert isinstance(registry, ModelRegistry)
    assert registry.get_alias(CHAMPION) is None
    assert registry.version_of_run(str(runs[0].run_id)) is None
    v1 = registry.register(str(runs[0].run_id), runs[0].artifacts["model"], {"k": "1"})
    v2 = registry.register(str(runs[1].run_id), runs[1].artifacts["model"], {"k": "2"})
    assert [v.version for v in registry.versions()] == [v1, v2]
    assert [registry.version_of_run(str(r.run_id)) for r in runs] == [v1, v2]
    registry.set_alias(CHAMPION, v1)
    registry.set_alias(CHALLENGER, v2)
    assert registry.get_alias(CHAMPION) == v1
    registry.set_alias(CHAMPION, v2)
    assert registry.get_alias(CHAMPION) == v2
    by_version = {v.version: v for v in registry.versions()}
    assert set(by_version[v2].aliases) == {CHAMPION, CHALLENGER}
    registry.tag_version(v1, {"note": "first"})
    assert {v.version: v for v in registry.versions()}[v1].tags["note"] == "first"
    bundle = registry.load_bundle(v1)
    assert isinstance(bundle, ModelBundle)
    assert bundle.threshold == runs[0].threshold
    assert registry.model_card(v1) is None
    registry.attach_card(v1, "# Model card: contract, version 1\n")
    assert registry.model_card(v1) == "# Model card: contract, version 1\n"
    assert registry.model_card(v2) is None
    with registry.lock():
        pass


def test_manual_promote_and_rollback(
    registry_and_runs: tuple[ModelRegistry, list[TrainingResult]],
) -> None:
    registry, runs = registry_and_runs
    v1 = registry.register(str(runs[0].run_id), runs[0].artifacts["model"], {})
    v2 = registry.register(str(runs[1].run_id), runs[1].artifacts["model"], {})
    assert promote_version(registry, v1, "baseline") is None
    assert promote_version(registry, v2, "better offline") == v1
    assert registry.get_alias(PREVIOUS_CHAMPION) == v1
    champion, rolled_back = rollback(registry, "incident 42")
    assert (champion, rolled_back) == (v1, v2)
    assert registry.get_alias(CHAMPION) == v1
    tags = {v.version: v.tags for v in registry.versions()}[v1]
    assert tags["mlsys.manual.reason"] == "incident 42"


# --- The champion gate ------------------------------------------------------------------------


def test_a_registered_run_has_its_profile_and_card_in_mlflow_and_ml_register_shows_it(
    small_leads_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlsys.registry.__main__ import main

    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    name = _unique()
    result = _train(uri, name, small_leads_csv, tmp_path / "run")
    assert result.gate is not None
    assert result.gate.version == "1"
    client = MlflowClient(tracking_uri=uri)
    run_artifacts = {a.path for a in client.list_artifacts(str(result.run_id))}
    assert {"profile.json", "model_card.md"} <= run_artifacts
    model_uri = client.get_run(str(result.run_id)).data.tags["mlsys.model_uri"]
    import mlflow

    mlflow.set_tracking_uri(uri)
    logged = Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=str(tmp_path / "m")))
    assert list(logged.rglob("profile.json")), "the MLflow model carries the profile"
    version = client.get_model_version(name, "1")
    assert version.tags["mlsys.model_card"] == f"runs:/{result.run_id}/model_card.md"
    assert "model_card.md" in version.description

    assert main(["--uri", uri, "--name", name, "show", "1"]) == 0

    shown = capsys.readouterr().out
    assert shown.rstrip("\n") == (result.output_dir / "model_card.md").read_text().rstrip("\n")
    assert result.metadata["data"]["sha256"] in shown
    assert f"| roc_auc | {result.metrics['roc_auc']:.4f} |" in shown
    assert main(["--uri", uri, "--name", name, "show", "7"]) == 2
    assert "has no version '7'" in capsys.readouterr().err


def test_gate_promotes_first_then_only_a_better_model(
    tracking_uri: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    name = _unique()
    train: Callable[[str, list[str]], TrainingResult] = lambda tag, extra: _train(  # noqa: E731
        tracking_uri, name, small_leads_csv, tmp_path / tag, extra
    )
    forest = ["model=random_forest", "model.max_depth=2"]
    first = train("first", [*forest, "model.n_estimators=5"])
    assert first.gate is not None
    assert first.gate.promoted
    assert "first model" in first.gate.reason
    strong = train("strong", ["model=logreg"])
    weak = train("weak", [*forest, "model.n_estimators=1", "model.max_depth=1"])
    registry = MlflowRegistry(name, uri=tracking_uri)
    for run in (strong, weak):
        assert run.gate is not None
        champion_score = run.gate.champion_scores["roc_auc"]
        candidate_score = run.gate.candidate_scores["roc_auc"]
        assert candidate_score == pytest.approx(run.metrics["roc_auc"])
        assert run.gate.promoted == (candidate_score > champion_score)
    assert strong.gate is not None
    assert strong.gate.promoted
    assert weak.gate is not None
    assert not weak.gate.promoted
    assert registry.get_alias(CHAMPION) == strong.gate.version
    # the champion alias resolves to a loadable MLflow model (what `mlflow models serve` uses)
    import mlflow.pyfunc

    served = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    rows = pd.read_csv(small_leads_csv).head(5)
    np.testing.assert_allclose(
        served.predict(rows)["probability"], strong.bundle.predict_proba(rows)
    )
    # the decision is logged on the candidate's run and on the champion's
    client = MlflowClient(tracking_uri=tracking_uri)
    weak_tags = client.get_run(str(weak.run_id)).data.tags
    assert weak_tags["mlsys.gate.promoted"] == "false"
    assert "mlsys.gate.champion.roc_auc" in weak_tags
    strong_tags = client.get_run(str(strong.run_id)).data.tags
    assert any(k.startswith("mlsys.gate.challenged_by.") for k in strong_tags)
    assert (tmp_path / "weak" / "gate.json").is_file()


def test_gate_refuses_a_different_schema(small_leads_csv: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    name = _unique()
    _train(uri, name, small_leads_csv, tmp_path / "a", ["model=logreg"])
    other = _train(
        uri,
        name,
        small_leads_csv,
        tmp_path / "b",
        ["model=logreg", "data.drop_columns=[opportunity_amount,utm_campaign]"],
    )
    assert other.gate is not None
    assert not other.gate.promoted
    assert "schema differs" in other.gate.reason
    assert other.gate.champion_scores == {}


def test_gate_refuses_a_different_holdout(small_leads_csv: Path, tmp_path: Path) -> None:
    """A champion re-scored on rows it trained on would look better than it is."""
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    name = _unique()
    _train(uri, name, small_leads_csv, tmp_path / "a", ["model=logreg"])
    other = _train(uri, name, small_leads_csv, tmp_path / "b", ["model=logreg", "seed=7"])
    assert other.gate is not None
    assert not other.gate.promoted
    assert "holdout differs" in other.gate.reason


def test_crash_mid_promotion_keeps_the_previous_champion(
    small_leads_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    name = _unique()
    first = _train(
        uri,
        name,
        small_leads_csv,
        tmp_path / "a",
        ["model=random_forest", "model.n_estimators=1", "model.max_depth=1"],
    )
    registry = MlflowRegistry(name, uri=uri)
    champion = registry.get_alias(CHAMPION)
    original = MlflowClient.set_registered_model_alias

    def crash(self: MlflowClient, model: str, alias: str, version: str) -> None:
        if alias == CHAMPION:
            raise RuntimeError("simulated crash while moving the champion alias")
        original(self, model, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _train(
            uri,
            name,
            small_leads_csv,
            tmp_path / "b",
            [*FAST_MODEL_OVERRIDES["xgboost"], "tracker.required=true"],
        )
    monkeypatch.undo()
    assert registry.get_alias(CHAMPION) == champion == first.gate.version  # type: ignore[union-attr]


#: Offers a run directory to its registry in a process that SIGKILLs itself just before its
#: N-th registry write (registering, tagging, writing gate.json, moving an alias), and prints
#: how many writes it made when it lives. The fault point lives here, not in mlsys.
_OFFER_AND_DIE = """
import os, signal, sys
from pathlib import Path

import mlsys.registry._gate as gate
from mlsys._rebuild import offer_run_dir
from mlsys.registry import MlflowRegistry

kill_before, writes = int(sys.argv[2]), 0

def counted(write):
    def wrapper(*args, **kwargs):
        global writes
        writes += 1
        if writes == kill_before:
            os.kill(os.getpid(), signal.SIGKILL)
        return write(*args, **kwargs)
    return wrapper

for method in ("register", "set_alias", "tag_version"):
    setattr(MlflowRegistry, method, counted(getattr(MlflowRegistry, method)))
gate.write_json = counted(gate.write_json)
offer_run_dir(Path(sys.argv[1]))
print(writes)
"""


def _offer_and_die(run_dir: Path, kill_before: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _OFFER_AND_DIE, str(run_dir), str(kill_before)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _tracked_copy(client: MlflowClient, source: Path, experiment_id: str, into: Path) -> Path:
    """A copy of a tracked run directory, tracked as a run of its own (seconds, not a fit)."""
    shutil.copytree(source, into)
    run = client.create_run(
        experiment_id, tags={"mlsys.bundle_sha256": file_sha256(into / "model.joblib")}
    )
    client.log_artifacts(run.info.run_id, str(into))
    client.set_terminated(run.info.run_id)
    metadata = json.loads((into / "metadata.json").read_text())
    write_json(into / "metadata.json", {**metadata, "tracking_run_id": run.info.run_id})
    return into


def _assert_recorded(registry: MlflowRegistry, version: str, run_dir: Path) -> None:
    """The gate's decision to promote ``version`` is on the version and in ``gate.json``."""
    decision = json.loads((run_dir / "gate.json").read_text())
    assert decision["promoted"] is True
    assert decision["version"] == version
    tags = {v.version: v.tags for v in registry.versions()}[version]
    for tag in ("promoted", "reason", "against", "candidate.roc_auc", "champion.roc_auc"):
        assert f"mlsys.gate.{tag}" in tags, tag
    assert tags["mlsys.gate.promoted"] == "true"


@pytest.mark.slow
def test_a_promotion_killed_at_any_write_leaves_the_old_or_a_recorded_champion(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    name = _unique()
    quick = "tracker.log_model=false"
    weak = ["model=random_forest", "model.n_estimators=1", "model.max_depth=1", quick]
    first = _train(uri, name, small_leads_csv, tmp_path / "champion", weak)
    assert first.gate is not None
    assert first.gate.promoted
    champion = str(first.gate.version)
    # A better model, tracked but not offered; copies of it are offered by run directory.
    better = _train(
        uri, name, small_leads_csv, tmp_path / "better", ["model=logreg", quick, "registry=none"]
    )
    config = OmegaConf.load(better.output_dir / "config.yaml")
    config.registry = OmegaConf.load(first.output_dir / "config.yaml").registry
    write_text(better.output_dir / "config.yaml", OmegaConf.to_yaml(config))
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    registry = MlflowRegistry(name, uri=uri)

    def offer(label: str, kill_before: int) -> tuple[subprocess.CompletedProcess[str], Path, str]:
        run_dir = _tracked_copy(
            client, better.output_dir, experiment.experiment_id, tmp_path / label
        )
        done = _offer_and_die(run_dir, kill_before)
        run_id = json.loads((run_dir / "metadata.json").read_text())["tracking_run_id"]
        versions = [v.version for v in registry.versions() if v.run_id == run_id]
        return done, run_dir, versions[0] if versions else ""

    # Once without dying: how many writes a promotion makes, and the champion it leaves.
    done, run_dir, version = offer("whole", 0)
    assert done.returncode == 0, done.stderr
    writes = int(done.stdout.split()[-1])
    assert writes >= 6  # version, challenger, decision tags, champion's note, gate.json, aliases
    assert registry.get_alias(CHAMPION) == version
    _assert_recorded(registry, version, run_dir)

    registry.set_alias(CHAMPION, champion)  # the weak one again: each offer below would win
    for kill_before in range(1, writes + 1):
        done, run_dir, version = offer(f"killed-before-write-{kill_before}", kill_before)
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert registry.get_alias(CHAMPION) == champion, kill_before
    # Killed just before the champion alias would have moved: everything else is recorded.
    _assert_recorded(registry, version, run_dir)


@pytest.mark.slow
def test_a_postgresql_database_as_the_store_trains_registers_promotes_and_serves(
    fresh_postgres_store: str, small_leads_csv: Path, tmp_path: Path
) -> None:
    """No server: the runs and the registry live straight in PostgreSQL (one new database)."""
    uri = fresh_postgres_store
    name = _unique()
    artifacts = f"tracker.artifact_location={(tmp_path / 'artifacts').as_uri()}"
    weak = ["model=random_forest", "model.n_estimators=1", "model.max_depth=1", artifacts]
    first = _train(uri, name, small_leads_csv, tmp_path / "weak", weak)
    strong = _train(uri, name, small_leads_csv, tmp_path / "strong", ["model=logreg", artifacts])
    assert first.gate is not None
    assert first.gate.promoted
    assert strong.gate is not None
    assert strong.gate.promoted
    registry = MlflowRegistry(name, uri=uri)
    assert registry.get_alias(CHAMPION) == strong.gate.version

    # Promote the first one back by hand through the CLI, then score with the champion.
    promoted = subprocess.run(
        [sys.executable, "-m", "mlsys.registry", "--uri", uri, "--name", name,
         "promote", str(first.gate.version), "--reason", "audit"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert registry.get_alias(CHAMPION) == first.gate.version
    assert registry.get_alias(PREVIOUS_CHAMPION) == strong.gate.version
    scores = tmp_path / "scores.csv"
    scored = subprocess.run(
        [sys.executable, "-m", "mlsys.predict", str(small_leads_csv), "-o", str(scores),
         "--tracking-uri", uri, "--name", name],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert scored.returncode == 0, scored.stderr
    frame = pd.read_csv(scores)
    assert set(frame["model_version"]) == {f"{name}/v{first.gate.version}"}
    rows = pd.read_csv(small_leads_csv)
    np.testing.assert_allclose(frame["probability"], first.bundle.predict_proba(rows), rtol=1e-9)
    assert not (REPO_ROOT / "mlruns").exists()  # artifacts went where the experiment says
