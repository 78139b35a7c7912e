"""Several worker processes: ``python -m mlsys.serve workers=N``.

uvicorn starts each worker by importing the app, so a worker cannot be handed a
:class:`ServeSettings` object: it builds its app with :func:`app_from_env` from the
``MLSYS_SERVE_*`` variables (the deployment entry ``serving/asgi.py`` does the same).
:func:`serve_workers` puts the settings into the environment of the process it starts (the
uvicorn supervisor, ``python -m mlsys.serving``), which replaces the calling process: signals
reach the supervisor directly, and the caller's own environment is never changed.

Each worker has its own model, metrics and reload state: ``/metrics`` counts the requests of
the worker that answers it, and ``/model/reload`` reloads that worker only (see
docs/SERVING.md).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

from litestar import Litestar

from mlsys.logs import configure_logging
from mlsys.serving._app import create_app
from mlsys.serving._settings import ServeSettings

__all__ = ["app_from_env", "serve_workers", "supervise"]

#: The factory uvicorn imports in each worker process.
FACTORY = "mlsys.serving:app_from_env"


def app_from_env() -> Litestar:
    """The app of one worker process, its settings from ``MLSYS_SERVE_*`` (a uvicorn factory).

    Example:
        >>> app = app_from_env()  # doctest: +SKIP
    """
    settings = ServeSettings.from_env()
    configure_logging("INFO", fmt=settings.log_format)
    return create_app(settings)


def serve_workers(settings: ServeSettings) -> NoReturn:
    """Become the uvicorn supervisor of ``settings.workers`` worker processes."""
    env = {**os.environ, **settings.to_env()}
    logging.getLogger(__name__).info(
        "Starting %d workers on %s:%d", settings.workers, settings.host, settings.port
    )
    logging.shutdown()  # flush the lines so far: nothing of this process runs after exec
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "mlsys.serving"], env)


def supervise() -> None:
    """``python -m mlsys.serving``: uvicorn with ``MLSYS_SERVE_WORKERS`` workers."""
    import uvicorn

    settings = ServeSettings.from_env()
    configure_logging("INFO", fmt=settings.log_format)
    uvicorn.run(
        FACTORY,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
        access_log=False,  # the app writes its own access line (with the model version)
        log_config=None,  # uvicorn's own lines go through mlsys.logs too
    )
