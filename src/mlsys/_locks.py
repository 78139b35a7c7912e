"""The promotion lock: one read-compare-promote at a time per registered model.

MLflow aliases have no compare-and-set, so two runs finishing together could both read the old
champion, both win against it, and the slower write would leave the alias on a model that lost
to the other. Holding this lock around read-compare-promote makes it a critical section:

* SQLite store (one machine): an ``fcntl`` lock on a file beside the database;
* PostgreSQL (store or ``registry.lock_uri``): ``pg_advisory_lock``, across machines;
* anything else: a file lock in the temp dir, per store and model (one machine), with a warning.

A holder that dies releases the lock (the file lock with its process, the advisory lock with its
connection). A holder that hangs would block everyone else, so waiting is bounded: after
``timeout`` seconds (:data:`DEFAULT_TIMEOUT_S` unless configured) the waiter fails with a
:class:`~mlsys.errors.TrackingError` that says which lock and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlsys._filelock import file_lock
from mlsys.errors import ConfigError, TrackingError

__all__ = ["DEFAULT_TIMEOUT_S", "registry_lock"]

log = logging.getLogger(__name__)
#: Machine-wide lock files for stores that have no lock of their own (an HTTP server without
#: registry.lock_uri); the temp dir is shared by every checkout on the machine.
_MACHINE_LOCKS = Path(tempfile.gettempdir()) / "mlsys-locks"
#: How long a promotion or a sweep's trial reservation waits for the lock by default. The
#: critical sections take seconds (re-scoring the champion on a holdout); ten minutes of waiting
#: means the holder is stuck.
DEFAULT_TIMEOUT_S = 600.0


def _key(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"mlsys-registry:{name}".encode()).digest()[:8], "big", signed=True
    )


#: PostgreSQL keeps lock_timeout in milliseconds in a 32-bit integer.
_MAX_TIMEOUT_MS = 2_147_483_647


@dataclass(frozen=True)
class _Wait:
    """How long to wait for a lock, and what to name in the error when that runs out."""

    timeout: float
    what: str
    setting: str
    uri_setting: str

    def timed_out(self, holder: str) -> TrackingError:
        return TrackingError(
            f"registry lock: waited {self.timeout:g} s for the lock on {self.what}; {holder}. A "
            "promotion or trial reservation takes seconds, so that process is probably stuck. "
            f"Fix: find and stop it (ps aux | grep mlsys), then run again; raise {self.setting} "
            "if it is only slow."
        )


@contextlib.contextmanager
def _postgres_lock(dsn: str, name: str, wait: _Wait) -> Iterator[None]:
    import psycopg

    plain = dsn.replace("postgresql+psycopg2://", "postgresql://").replace(
        "postgresql+psycopg://", "postgresql://"
    )
    try:
        connection = psycopg.connect(plain, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise TrackingError(
            f"registry lock: cannot connect to PostgreSQL ({exc}). Fix: check {wait.uri_setting}, "
            "or that PostgreSQL is running."
        ) from exc
    with connection:
        # lock_timeout bounds the wait for an advisory lock too; 0 would mean "wait forever".
        milliseconds = min(_MAX_TIMEOUT_MS, max(1, round(wait.timeout * 1000)))
        connection.execute(f"SET lock_timeout = {milliseconds}")
        try:
            connection.execute("SELECT pg_advisory_lock(%s)", (_key(name),))
        except psycopg.errors.LockNotAvailable as exc:
            raise wait.timed_out("another connection holds the advisory lock") from exc
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_key(name),))


@contextlib.contextmanager
def _bounded_file_lock(path: Path, wait: _Wait) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(path, wait.timeout))
        except TimeoutError as exc:
            raise wait.timed_out(f"another process holds {path}") from exc
        yield


def registry_lock(
    uri: str,
    name: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    what: str | None = None,
    setting: str = "registry.registry.lock_timeout_s",
    uri_setting: str = "registry.registry.lock_uri / the tracking URI",
) -> contextlib.AbstractContextManager[None]:
    """The right lock for a store URI (or an explicit lock path); waits at most ``timeout`` s.

    ``what`` names the locked thing (default: ``model '<name>'``); ``setting`` and
    ``uri_setting`` name the settings for ``timeout`` and ``uri``, for error messages.

    Raises:
        ConfigError: ``timeout`` is not a positive, finite number of seconds.
    """
    if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise ConfigError(
            f"{setting}: got {timeout!r}, expected a positive number of seconds. "
            f"Fix: {setting}={DEFAULT_TIMEOUT_S:g}."
        )
    wait = _Wait(float(timeout), what or f"model '{name}'", setting, uri_setting)
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        return _bounded_file_lock(database.with_name(f"{database.name}.{name}.lock"), wait)
    if uri.startswith(("postgresql://", "postgresql+", "postgres://")):
        return _postgres_lock(uri, name, wait)
    if uri.startswith(("http://", "https://", "databricks")):
        log.warning(
            "registry: no lock_uri for tracking server %s; promotions are serialised on this "
            "machine only. Set registry.registry.lock_uri to the PostgreSQL DSN for team-wide "
            "safety.",
            uri,
        )
        digest = hashlib.sha256(uri.encode()).hexdigest()[:16]
        return _bounded_file_lock(_MACHINE_LOCKS / f"{digest}.{name}.lock", wait)
    return _bounded_file_lock(Path(uri).expanduser(), wait)
