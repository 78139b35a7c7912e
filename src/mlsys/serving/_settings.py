"""Serving settings (``conf/serve.yaml``), plain and typed so the app never sees Hydra."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Annotated, Any

from pydantic import Field

from mlsys._params import check_params
from mlsys.errors import ConfigError

__all__ = ["ServeSettings"]


def _env_token() -> str | None:
    return os.environ.get("MLSYS_ADMIN_TOKEN") or None


def _token(value: str | None) -> str | None:
    """The admin token, or ``None`` when it is unset, blank, or spells YAML's null."""
    # `admin_token: ${oc.env:MLSYS_ADMIN_TOKEN,null}` hands over MLSYS_ADMIN_TOKEN=null as the
    # string "null": an admin endpoint "protected" by a token anyone can guess.
    if value is None or value.strip().lower() in ("", "null", "none", "~"):
        return None
    return value


_MONITOR_FIELDS = ("drift", "drift_window", "monitor_queue")
_CHALLENGER_FIELDS = ("challenger_alias", "challenger_version", "challenger_path")


@dataclass
class ServeSettings:
    """What to serve and how.

    Attributes:
        model_name: Registered model name (the ``name`` used in training).
        model_alias: Registry alias to serve (``champion``).
        model_path: Serve this bundle file instead of the registry (no MLflow needed).
        tracking_uri: Registry URI; ``None`` uses ``MLFLOW_TRACKING_URI`` or the embedded store.
        host: Interface to bind.
        port: Port to bind.
        workers: uvicorn worker processes.
        max_batch: Largest ``/predict/batch`` accepted (413 beyond).
        max_body_bytes: Largest request body accepted (413 beyond).
        admin_token: Bearer token for ``/model/reload``; unset disables admin endpoints (so do
            an empty value and ``null``/``none``/``~``, which are never used as a token).
        poll_interval_s: Poll the registry and reload when the alias moves (0: off).
        log_format: ``json`` (one JSON object per line, the default for a server), ``text``
            (for a terminal) or ``auto`` (``MLSYS_LOG_FORMAT``, else text); see ``mlsys.logs``.
        access_log: One access-log line per request (method, path, status, latency, model
            version, shadow version) on the ``mlsys.serving.access`` logger.
        drift: Keep a live drift window of the champion's inputs and scores against its
            training profile and export the PSI on ``/metrics`` (a bundle without a profile has
            none). Fed off the response path (docs/MONITORING.md).
        drift_window: Rows in the live drift window (1,000 to 1,000,000; the alert thresholds
            are calibrated for 10,000).
        challenger_alias: Registry alias of a shadow challenger (``challenger``) scored on every
            request off the response path; followed by ``poll_interval_s``.
        challenger_version: A pinned registry version as the shadow challenger instead.
        challenger_path: A bundle file as the shadow challenger instead.
        monitor_queue: Requests waiting for the background monitor (drift window, shadow
            challenger); a request arriving when it is full is not monitored (counted in
            ``mlsys_monitor_dropped_total``), never delayed.
    """

    model_name: str = "conversion"
    model_alias: str = "champion"
    model_path: str | None = None
    tracking_uri: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_batch: int = 10_000
    max_body_bytes: int = 16 * 1024 * 1024
    admin_token: str | None = field(default_factory=_env_token)
    poll_interval_s: float = 0.0
    log_format: str = "json"
    access_log: bool = True
    drift: bool = True
    drift_window: Annotated[int, Field(ge=1_000, le=1_000_000)] = 10_000
    challenger_alias: str | None = None
    challenger_version: str | None = None
    challenger_path: str | None = None
    monitor_queue: Annotated[int, Field(ge=1, le=1_000_000)] = 1_024

    def __post_init__(self) -> None:
        self.admin_token = _token(self.admin_token)
        # Also for settings built by hand: the monitor's ranges are declared on the fields.
        check_params(
            ServeSettings,
            {key: getattr(self, key) for key in _MONITOR_FIELDS},
            partial=True,
            owner="the serving config",
        )
        given = [key for key in _CHALLENGER_FIELDS if getattr(self, key)]
        if len(given) > 1:
            raise ConfigError(
                f"{' and '.join(given)}: both set; a server shadows at most one challenger. "
                f"Fix: keep one of them (e.g. {given[1]}=null)."
            )

    @property
    def challenger(self) -> str | None:
        """The shadow challenger as configured (alias, version or file), or ``None``."""
        return self.challenger_alias or self.challenger_version or self.challenger_path

    def to_env(self, prefix: str = "MLSYS_SERVE_") -> dict[str, str]:
        """Every setting as a ``MLSYS_SERVE_<FIELD>`` variable: what :meth:`from_env` reads back.

        ``python -m mlsys.serve workers=N`` hands its settings to the worker processes this
        way, in the environment of the process that starts them (its own stays unchanged).
        """
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[prefix + f.name.upper()] = (
                ""
                if value is None
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
        return out

    @classmethod
    def from_env(cls, prefix: str = "MLSYS_SERVE_") -> ServeSettings:
        """Settings from ``MLSYS_SERVE_<FIELD>`` variables (for ``uvicorn serving.asgi:app``)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(prefix + f.name.upper())
            if raw is None:
                continue
            kind = str(f.type)
            if "int" in kind and "str" not in kind:
                values[f.name] = int(raw)
            elif "float" in kind:
                values[f.name] = float(raw)
            elif "bool" in kind:
                values[f.name] = raw.strip().lower() in ("1", "true", "yes")
            else:
                values[f.name] = raw or None
        return cls(**values)
