"""ASGI entry point for deployments: ``uvicorn serving.asgi:app --workers 2``.

Settings come from ``MLSYS_SERVE_*`` environment variables (``MLSYS_SERVE_MODEL_NAME``,
``MLSYS_SERVE_MODEL_PATH``, ``MLSYS_SERVE_MAX_BATCH``, ...; see ``mlsys.serving.ServeSettings``)
and ``MLSYS_ADMIN_TOKEN`` / ``MLFLOW_TRACKING_URI``.
"""

from __future__ import annotations

from mlsys.serving import ServeSettings, create_app

app = create_app(ServeSettings.from_env())
