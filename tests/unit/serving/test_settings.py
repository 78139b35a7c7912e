"""Serving settings: how they reach the worker processes of ``workers=N``."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_settings_reach_a_worker_through_its_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``workers=N``: every setting survives ``to_env`` -> ``from_env`` (None, bool, float)."""
    from mlsys.serving import ServeSettings

    monkeypatch.delenv("MLSYS_ADMIN_TOKEN", raising=False)
    settings = ServeSettings(
        model_path="m.joblib", port=9001, workers=3, poll_interval_s=2.5, access_log=False
    )
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert ServeSettings.from_env() == settings
