"""The promotion lock: one read-compare-promote at a time per registered model.

MLflow aliases have no compare-and-set, so two runs finishing together could both read the old
champion, both win against it, and the slower write would leave the alias on a model that lost
to the other. Holding this lock around read-compare-promote makes it a critical section:

* SQLite store (one machine): an ``fcntl`` lock on a file beside the database;
* PostgreSQL (store or ``registry.lock_uri``): ``pg_advisory_lock``, across machines;
* anything else: a file lock in the temp dir, per store and model (one machine), with a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mlsys._filelock import file_lock
from mlsys.errors import TrackingError

__all__ = ["registry_lock"]

log = logging.getLogger(__name__)
#: Machine-wide lock files for stores that have no lock of their own (an HTTP server without
#: registry.lock_uri); the temp dir is shared by every checkout on the machine.
_MACHINE_LOCKS = Path(tempfile.gettempdir()) / "mlsys-locks"


def _key(name: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"mlsys-registry:{name}".encode()).digest()[:8], "big", signed=True
    )


@contextlib.contextmanager
def _postgres_lock(dsn: str, name: str) -> Iterator[None]:
    import psycopg

    plain = dsn.replace("postgresql+psycopg2://", "postgresql://").replace(
        "postgresql+psycopg://", "postgresql://"
    )
    try:
        connection = psycopg.connect(plain, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise TrackingError(
            f"registry lock: cannot connect to PostgreSQL ({exc}). Fix: check registry.lock_uri "
            "/ the tracking database, or that PostgreSQL is running."
        ) from exc
    with connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (_key(name),))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (_key(name),))


def registry_lock(uri: str, name: str) -> contextlib.AbstractContextManager[None]:
    """The right lock for a store URI (or an explicit lock URI/path)."""
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        return file_lock(database.with_name(f"{database.name}.{name}.lock"))
    if uri.startswith(("postgresql://", "postgresql+", "postgres://")):
        return _postgres_lock(uri, name)
    if uri.startswith(("http://", "https://", "databricks")):
        log.warning(
            "registry: no lock_uri for tracking server %s; promotions are serialised on this "
            "machine only. Set registry.lock_uri to the PostgreSQL DSN for team-wide safety.",
            uri,
        )
        return file_lock(
            _MACHINE_LOCKS / f"{hashlib.sha256(uri.encode()).hexdigest()[:16]}.{name}.lock"
        )
    return file_lock(Path(uri).expanduser())
