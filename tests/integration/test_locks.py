"""The PostgreSQL advisory lock (team mode): a stuck holder costs a clear error, not a hang."""

from __future__ import annotations

import time
import uuid

import pytest

from mlsys._locks import _key
from mlsys.errors import TrackingError
from mlsys.registry import registry_lock

from .conftest import PG_ADMIN_DSN, _require_postgres

pytestmark = pytest.mark.integration


def test_advisory_lock_wait_is_bounded_and_released_with_the_holder() -> None:
    import psycopg

    try:
        holder = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _require_postgres(str(exc).strip())
    name = f"lock-test-{uuid.uuid4().hex[:8]}"
    with holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (_key(name),))  # a stuck promotion
        start = time.monotonic()
        with (
            pytest.raises(TrackingError, match=rf"model '{name}'.*Fix:"),
            registry_lock(PG_ADMIN_DSN, name, timeout=0.5),
        ):
            pass  # pragma: no cover - the lock is held
        assert 0.4 <= time.monotonic() - start < 5
    # The holder's connection is gone, and its lock with it.
    with registry_lock(PG_ADMIN_DSN, name, timeout=5):
        pass
