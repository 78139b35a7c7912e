"""`python -m mlsys.serve` as a real process on a free loopback port, called over HTTP."""

from __future__ import annotations

import http.client
import json
import math
import os
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import FAST_REPORT, NO_TRACKING
from tests.integration.server_process import call, serve, train

pytestmark = pytest.mark.integration


def _record(csv: Path, columns: list[str]) -> dict[str, Any]:
    row = pd.read_csv(csv).head(1)[columns]
    values = json.loads(row.to_json(orient="records"))[0]
    return {c: (None if pd.isna(v) else v) for c, v in values.items()}


def test_serve_the_registry_champion_over_http(small_leads_csv: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MLSYS_ADMIN_TOKEN": "tok"}
    forest = ["model=random_forest", "model.n_estimators=2", "model.max_depth=1"]
    train(small_leads_csv, forest, tmp_path / "0", env)
    log = tmp_path / "serve.log"
    # Start serving after the first model, then promote the second.
    with serve([f"hydra.run.dir={tmp_path / 'serve'}"], env, log) as url:
        train(small_leads_csv, ["model=logreg"], tmp_path / "1", env)
        status, info = call(f"{url}/model/info")
        assert status == 200
        assert info["version"] == "1"
        record = _record(small_leads_csv, list(info["feature_schema"]))
        status, scored = call(f"{url}/predict", record)
        assert status == 200
        assert scored["model_version"] == "1"
        status, listed = call(f"{url}/models")
        assert [v["version"] for v in listed["versions"]] == ["1", "2"]
        status, reloaded = call(f"{url}/model/reload", {}, token="tok")
        assert status == 200, reloaded
        assert reloaded["model_version"] == "2"  # the champion alias moved to the better model
        assert call(f"{url}/predict", record)[1]["model_version"] == "2"
        assert call(f"{url}/predict", {"nope": 1})[0] == 422
    access = [
        json.loads(line[line.index("{") : line.rindex("}") + 1])
        for line in log.read_text().splitlines()
        if "mlsys.serving.access" in line
    ]
    assert access, log.read_text()[-2000:]
    assert {"path", "status", "latency_ms", "model_version"} <= set(access[-1])


@dataclass(frozen=True)
class _Exchange:
    start: float
    end: float
    status: int
    version: str | None


def _score_until(
    port: int, body: bytes, stop: threading.Event, into: list[_Exchange], limit: int
) -> None:
    """POST /predict on one keep-alive connection until ``stop`` (or ``limit`` requests).

    A connection error is recorded as status 0 (and ends this client), never lost.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"content-type": "application/json"}
    try:
        for _ in range(limit):
            if stop.is_set():
                return
            start = time.monotonic()
            try:
                connection.request("POST", "/predict", body=body, headers=headers)
                response = connection.getresponse()
                answer = json.loads(response.read())
            except (OSError, http.client.HTTPException):
                into.append(_Exchange(start, time.monotonic(), 0, None))
                return
            version = answer.get("model_version")
            into.append(_Exchange(start, time.monotonic(), response.status, version))
    finally:
        connection.close()


@dataclass(frozen=True)
class _Registry:
    env: dict[str, str]  # MLFLOW_TRACKING_URI of the store, MLSYS_ADMIN_TOKEN=tok
    store: str


@pytest.fixture(scope="module")
def registry(small_leads_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> _Registry:
    """A store with two registered versions: a small random forest (1) and a logreg (2)."""
    root = tmp_path_factory.mktemp("serve-registry")
    store = f"sqlite:///{root / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": store, "MLSYS_ADMIN_TOKEN": "tok"}
    quick = ["tracker.log_model=false", *FAST_REPORT]  # the registry serves the run's bundle
    forest = ["model=random_forest", "model.n_estimators=5", "model.max_depth=3"]
    train(small_leads_csv, [*forest, *quick], root / "0", env)
    train(small_leads_csv, ["model=logreg", *quick], root / "1", env)
    return _Registry(env=env, store=store)


@pytest.mark.slow  # a server and six reloads under load (after the two trainings of `registry`)
def test_hot_reload_under_http_load_serves_the_old_or_the_new_model(
    registry: _Registry, small_leads_csv: Path, tmp_path: Path
) -> None:
    """Reloads swap versions 1 and 2 while four clients score; no request fails or mixes."""
    overrides = [f"hydra.run.dir={tmp_path / 'serve'}"]
    with serve(overrides, registry.env, tmp_path / "serve.log") as url:
        info = call(f"{url}/model/info")[1]
        served = info["version"]
        other = {"1": "2", "2": "1"}
        body = json.dumps(_record(small_leads_csv, list(info["feature_schema"]))).encode()
        exchanges: list[_Exchange] = []
        stop = threading.Event()
        port = int(url.rsplit(":", 1)[1])
        clients = [
            threading.Thread(target=_score_until, args=(port, body, stop, exchanges, 20_000))
            for _ in range(4)
        ]
        for client in clients:
            client.start()
        reloads: list[tuple[float, float, str]] = []
        try:
            for _ in range(6):
                target = other[served]
                start = time.monotonic()
                status, answer = call(f"{url}/model/reload?version={target}", {}, token="tok")
                reloads.append((start, time.monotonic(), target))
                assert status == 200, answer
                assert (answer["previous_version"], answer["model_version"]) == (served, target)
                served = target
                # Let requests run on the new model before the next swap (bounded wait).
                deadline = time.monotonic() + 60
                while sum(e.start > reloads[-1][1] for e in exchanges) < 20:
                    assert time.monotonic() < deadline, "no requests after the reload"
                    time.sleep(0.01)
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=60)

    assert {e.status for e in exchanges} == {200}
    assert {e.version for e in exchanges} == {"1", "2"}
    for start, end, _ in reloads:  # requests really were in flight while each reload ran
        assert sum(e.start < end and e.end > start for e in exchanges) >= 4
    next_starts = [start for start, _, _ in reloads[1:]] + [math.inf]
    for (_, done, version), begin in zip(reloads, next_starts, strict=True):
        between = [e.version for e in exchanges if e.start > done and e.end < begin]
        assert between, "no request between two reloads"
        assert set(between) == {version}  # a request that starts after a swap sees the new model


@pytest.mark.slow
def test_a_reload_whose_registry_artifact_is_gone_is_409_and_the_old_model_serves(
    registry: _Registry, small_leads_csv: Path, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(registry.store)
    overrides = [f"hydra.run.dir={tmp_path / 'serve'}"]
    with serve(overrides, registry.env, tmp_path / "serve.log") as url:
        served = call(f"{url}/model/info")[1]
        other = {"1": "2", "2": "1"}[served["version"]]
        run_id = client.get_model_version("conversion", other).run_id
        artifacts = urllib.parse.urlparse(client.get_run(run_id).info.artifact_uri).path
        artifact = Path(artifacts) / "model.joblib"
        record = _record(small_leads_csv, list(served["feature_schema"]))
        before = call(f"{url}/predict", record)
        aside = artifact.rename(tmp_path / "aside.joblib")  # put back below: `registry` is shared
        try:
            status, answer = call(f"{url}/model/reload?version={other}", {}, token="tok")
        finally:
            aside.rename(artifact)
        assert status == 409, answer
        assert answer["detail"].startswith(f"reload rejected, still serving {served['version']}")
        assert "could not be loaded from the registry" in answer["detail"]
        for directory in (artifact.parent, Path(tempfile.gettempdir())):
            assert str(directory) not in answer["detail"]  # a file name at most
        assert call(f"{url}/predict", record) == before
        assert call(f"{url}/ready")[1] == {"ready": True, "model_version": served["version"]}


def _workers_on(port: int) -> int:
    """Worker processes (multiprocessing spawn children) started for ``port``."""
    found = 0
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # not ours, or gone
            continue
        if b"spawn_main" in cmdline and f"MLSYS_SERVE_PORT={port}".encode() in environ:
            found += 1
    return found


def test_two_workers_serve_and_each_counts_its_own_metrics(
    small_leads_csv: Path, tmp_path: Path
) -> None:
    """``workers=2``: two worker processes answer; /metrics is the answering worker's."""
    env = dict(os.environ)
    train(small_leads_csv, ["model=logreg", *NO_TRACKING], tmp_path / "run", env)
    bundle = tmp_path / "run" / "model.joblib"
    overrides = [f"model_path={bundle}", "workers=2", f"hydra.run.dir={tmp_path / 'serve'}"]
    with serve(overrides, env, tmp_path / "serve.log") as url:
        port = int(urllib.parse.urlparse(url).port or 0)
        assert _workers_on(port) == 2
        status, info = call(f"{url}/model/info")
        assert status == 200
        record = _record(small_leads_csv, list(info["feature_schema"]))
        answers = [call(f"{url}/predict", record) for _ in range(20)]
        assert {status for status, _ in answers} == {200}
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            text = response.read().decode()
        counted = next(
            float(line.split()[-1])
            for line in text.splitlines()
            if line.startswith('mlsys_requests_total{route="/predict",status="200"}')
        )
        assert counted <= 20  # the answering worker's own count (docs/SERVING.md)
