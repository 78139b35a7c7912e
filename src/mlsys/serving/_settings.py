"""Serving settings (``conf/serve.yaml``), plain and typed so the app never sees Hydra."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

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
            version) on the ``mlsys.serving.access`` logger.
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

    def __post_init__(self) -> None:
        self.admin_token = _token(self.admin_token)

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
