"""Promotion and study locks: exclusive, and a stuck holder costs a clear error, not a hang."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from mlsys._filelock import file_lock
from mlsys.errors import ConfigError, TrackingError
from mlsys.registry import MlflowRegistry, registry_lock

pytestmark = pytest.mark.unit


def test_a_second_holder_waits_at_most_the_timeout_and_says_what_to_do(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with registry_lock(uri, "lead_conversion"):
        start = time.monotonic()
        with (
            pytest.raises(TrackingError) as error,
            registry_lock(uri, "lead_conversion", timeout=0.3),
        ):
            pass  # pragma: no cover - the lock is held
        waited = time.monotonic() - start
    assert 0.3 <= waited < 3
    message = str(error.value)
    assert "model 'lead_conversion'" in message
    assert "registry.registry.lock_timeout_s" in message
    assert "Fix:" in message
    with registry_lock(uri, "lead_conversion", timeout=0.3):  # free again once released
        pass


def test_locks_are_per_model_and_the_study_lock_names_its_setting(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    with (
        registry_lock(uri, "a"),
        registry_lock(uri, "b", timeout=0.2),  # another model: no wait
        pytest.raises(TrackingError, match=r"sweep study 'q4'.*hydra\.sweeper\.lock_timeout_s"),
        registry_lock(uri, "optuna-q4", timeout=0.1),
        registry_lock(
            uri,
            "optuna-q4",
            timeout=0.1,
            what="sweep study 'q4'",
            setting="hydra.sweeper.lock_timeout_s",
        ),
    ):
        pass  # pragma: no cover


@pytest.mark.parametrize("timeout", [0, -5, float("inf"), float("nan")])
def test_a_timeout_must_be_a_positive_finite_number(timeout: float, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"hydra\.sweeper\.lock_timeout_s: got .*Fix:"):
        registry_lock(
            f"sqlite:///{tmp_path}/m.db", "x", timeout, setting="hydra.sweeper.lock_timeout_s"
        )


def test_a_waiter_gets_the_lock_when_the_holder_releases_it_in_time(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    held = threading.Event()

    def hold() -> None:
        with file_lock(path):
            held.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    start = time.monotonic()
    with file_lock(path, timeout=10):
        waited = time.monotonic() - start
    holder.join()
    assert 0.1 < waited < 5


def test_lock_timeout_must_be_positive() -> None:
    for bad in (0, float("inf")):
        with pytest.raises(ConfigError, match=r"registry\.registry\.lock_timeout_s"):
            MlflowRegistry(lock_timeout_s=bad)
