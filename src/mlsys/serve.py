"""``python -m mlsys.serve`` (``ml-serve``): serve the champion over REST under uvicorn.

Exit codes: 2 for a bad setting or override (one ``error:`` line names the key and the fix),
1 for anything else. ``HYDRA_FULL_ERROR=1`` also prints the traceback.
"""

from __future__ import annotations

import logging
import sys

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from mlsys import _cli
from mlsys._params import check_params
from mlsys.config import CONFIG_DIR, to_mapping
from mlsys.errors import ConfigError, MlsysError
from mlsys.serving import ServeSettings

__all__ = ["cli", "main"]

ConfigStore.instance().store(name="serve_schema", node=ServeSettings)
log = logging.getLogger("mlsys.serve")


@hydra.main(config_path=str(CONFIG_DIR), config_name="serve", execution_whitelist=["mlsys.*"])
def main(cfg: DictConfig) -> None:
    """Start uvicorn with the app factory."""
    import uvicorn

    from mlsys.logs import configure_logging
    from mlsys.serving import create_app, serve_workers

    try:
        settings = _settings(cfg)
    except (MlsysError, OmegaConfBaseException) as exc:
        sys.exit(_cli.fail(exc))
    # A server logs JSON lines by default (log_format=json); Hydra's serve.log follows suit.
    configure_logging("INFO", fmt=settings.log_format)
    if settings.workers > 1:
        serve_workers(settings)  # replaces this process by uvicorn's supervisor
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,  # the app writes its own access line (with the model version)
        log_config=None,  # uvicorn's own lines go through mlsys.logs too
    )


def _settings(cfg: DictConfig) -> ServeSettings:
    values = dict(to_mapping(cfg))
    check_params(ServeSettings, values, owner="the serving config")
    settings = ServeSettings(**values)
    if settings.workers < 1:
        raise ConfigError(f"workers: got {settings.workers}. Fix: workers=1 or more.")
    return settings


def cli() -> None:
    """Console entry point (``ml-serve``)."""
    _cli.run(main)


if __name__ == "__main__":
    cli()
