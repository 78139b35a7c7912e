"""Real services for integration tests: PostgreSQL and an `mlflow server` on top of it.

Where PostgreSQL is unreachable the tests that need it skip with the reason, except when
MLSYS_REQUIRE_POSTGRES=1 (set by .ci/run), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_DSN = os.environ.get("MLSYS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _require_postgres(reason: str) -> None:
    if os.environ.get("MLSYS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (MLSYS_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(f"PostgreSQL not reachable: {reason}")


def _fresh_database(purpose: str) -> Iterator[str]:
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _require_postgres(str(exc).strip())
    name = f"mlsys_test_{purpose}_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for MLflow in this test session, dropped afterwards; yields its DSN."""
    yield from _fresh_database("mlflow")


@pytest.fixture(scope="session")
def optuna_database() -> Iterator[str]:
    """A separate fresh database for Optuna studies.

    MLflow and Optuna both keep their schema version in alembic's ``alembic_version`` table, so
    they cannot share one database.
    """
    yield from _fresh_database("optuna")


@pytest.fixture
def fresh_postgres_store() -> Iterator[str]:
    """An empty database of its own for one test, as an MLflow store URI (SQLAlchemy form).

    MLflow creates its tables on first use: what a team's new store looks like.
    """
    with contextlib.contextmanager(_fresh_database)("store") as dsn:
        yield dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server not healthy after {timeout}s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def mlflow_server(
    postgres_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real `mlflow server` process on PostgreSQL with served artifacts; yields its URL."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "server.log"
    backend = postgres_database.replace("postgresql://", "postgresql+psycopg://", 1)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                backend,
                "--artifacts-destination",
                str(root / "artifacts"),
                "--serve-artifacts",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_healthy(url, process, log, timeout=120)
        yield url
    finally:
        # mlflow server spawns workers: stop the whole process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(params=["embedded", "server"])
def tracking_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same contract tests run on the embedded SQLite store and on a PostgreSQL server."""
    if request.param == "embedded":
        return f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    return str(request.getfixturevalue("mlflow_server"))
