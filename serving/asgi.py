"""ASGI entry point for deployments: ``uvicorn serving.asgi:app --workers 2``.

Settings come from ``MLSYS_SERVE_*`` environment variables (``MLSYS_SERVE_MODEL_NAME``,
``MLSYS_SERVE_MODEL_PATH``, ``MLSYS_SERVE_MAX_BATCH``, ...; see ``mlsys.serving.ServeSettings``)
and ``MLSYS_ADMIN_TOKEN`` / ``MLFLOW_TRACKING_URI``.
"""

from __future__ import annotations

from mlsys.logs import configure_logging
from mlsys.serving import ServeSettings, create_app

settings = ServeSettings.from_env()
# uvicorn configured its own loggers already; mlsys.logs adds one format (JSON lines by default,
# MLSYS_SERVE_LOG_FORMAT=text for people) with the served model's version on every line.
configure_logging("INFO", fmt=settings.log_format)
app = create_app(settings)
