"""REST serving of the champion model with Litestar."""

from __future__ import annotations

from mlsys.serving._app import create_app
from mlsys.serving._model import (
    LoadedModel,
    ModelSource,
    PathSource,
    RegistrySource,
    compile_scorer,
)
from mlsys.serving._settings import ServeSettings
from mlsys.serving._validation import FieldError, RecordValidator, ValidationFailed

__all__ = [
    "FieldError",
    "LoadedModel",
    "ModelSource",
    "PathSource",
    "RecordValidator",
    "RegistrySource",
    "ServeSettings",
    "ValidationFailed",
    "compile_scorer",
    "create_app",
]
