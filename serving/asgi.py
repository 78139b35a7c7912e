"""ASGI entry point for deployments: ``uvicorn serving.asgi:app --workers 2``.

Settings come from ``MLSYS_SERVE_*`` environment variables (``MLSYS_SERVE_MODEL_NAME``,
``MLSYS_SERVE_MODEL_PATH``, ``MLSYS_SERVE_MAX_BATCH``, ...; see ``mlsys.serving.ServeSettings``)
and ``MLSYS_ADMIN_TOKEN`` / ``MLFLOW_TRACKING_URI``. uvicorn configured its own loggers already;
``app_from_env`` adds one format (JSON lines by default, ``MLSYS_SERVE_LOG_FORMAT=text`` for
people) with the served model's version on every line. ``python -m mlsys.serve workers=N``
starts the same factory (``mlsys.serving:app_from_env``) in each worker.
"""

from __future__ import annotations

from mlsys.serving import app_from_env

app = app_from_env()
