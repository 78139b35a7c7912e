"""A real `python -m mlsys.serve` process on a free loopback port, for tests that call it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """GET (no body) or POST a JSON body; the status and the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@contextlib.contextmanager
def serve(overrides: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """Start the server with Hydra ``overrides``; yield its URL once /health answers.

    Its output goes to ``log`` (a pipe nobody reads would stall a server that logs every
    request). The server is stopped (SIGTERM to its process group) on exit.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlsys.serve", f"port={port}", *overrides],
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "server did not come up"
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=1):
                        break
                except OSError:
                    time.sleep(0.3)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def train(csv: Path, model: list[str], run_dir: Path, env: dict[str, str]) -> None:
    """``python -m mlsys.train`` on ``csv`` (tracked and registered where ``env`` says)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlsys.train",
            f"data.path={csv}",
            *model,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
