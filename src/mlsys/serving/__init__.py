"""REST serving of the champion model with Litestar."""

from __future__ import annotations

from mlsys.serving._app import MAX_JSON_DEPTH, create_app
from mlsys.serving._model import (
    LoadedModel,
    ModelSource,
    PathSource,
    RegistrySource,
)
from mlsys.serving._settings import ServeSettings
from mlsys.serving._validation import (
    MAX_REPORTED_ERRORS,
    FieldError,
    RecordValidator,
    ValidationFailed,
)
from mlsys.serving._workers import app_from_env, serve_workers

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_REPORTED_ERRORS",
    "FieldError",
    "LoadedModel",
    "ModelSource",
    "PathSource",
    "RecordValidator",
    "RegistrySource",
    "ServeSettings",
    "ValidationFailed",
    "app_from_env",
    "create_app",
    "serve_workers",
]
