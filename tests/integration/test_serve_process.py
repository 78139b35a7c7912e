"""`python -m mlsys.serve` as a real process on a free loopback port, called over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _call(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _wait(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("server did not come up")


def test_serve_the_registry_champion_over_http(small_leads_csv: Path, tmp_path: Path) -> None:
    env = {**os.environ, "MLSYS_ADMIN_TOKEN": "tok"}
    for i, model in enumerate(["random_forest", "logreg"]):
        extra = ["model.n_estimators=2", "model.max_depth=1"] if model == "random_forest" else []
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mlsys.train",
                f"data.path={small_leads_csv}",
                f"model={model}",
                *extra,
                f"hydra.run.dir={tmp_path / str(i)}",
            ],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        if i == 0:
            first_only = True  # start serving after the first model, then promote the second
            port = _port()
            url = f"http://127.0.0.1:{port}"
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mlsys.serve",
                    f"port={port}",
                    f"hydra.run.dir={tmp_path / 'serve'}",
                ],
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                start_new_session=True,
            )
    assert first_only
    try:
        _wait(url, server)
        row = pd.read_csv(small_leads_csv).head(1)
        status, info = _call(f"{url}/model/info")
        assert status == 200
        assert info["version"] == "1"
        record = {
            c: (None if pd.isna(v) else v)
            for c, v in json.loads(row[list(info["feature_schema"])].to_json(orient="records"))[
                0
            ].items()
        }
        status, scored = _call(f"{url}/predict", record)
        assert status == 200
        assert scored["model_version"] == "1"
        status, listed = _call(f"{url}/models")
        assert [v["version"] for v in listed["versions"]] == ["1", "2"]
        status, reloaded = _call(f"{url}/model/reload", {}, token="tok")
        assert status == 200, reloaded
        assert reloaded["model_version"] == "2"  # the champion alias moved to the better model
        assert _call(f"{url}/predict", record)[1]["model_version"] == "2"
        assert _call(f"{url}/predict", {"nope": 1})[0] == 422
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        _, err = server.communicate(timeout=20)
    access = [
        json.loads(line[line.index("{") : line.rindex("}") + 1])
        for line in (err or "").splitlines()
        if "mlsys.serving.access" in line
    ]
    assert access, err[-2000:]
    assert {"path", "status", "latency_ms", "model_version"} <= set(access[-1])
