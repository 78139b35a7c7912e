"""``python -m mlsys.serve`` (``ml-serve``): serve the champion over REST under uvicorn."""

from __future__ import annotations

import logging
import sys

import hydra
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from mlsys.config import CONFIG_DIR
from mlsys.serving._settings import ServeSettings

__all__ = ["main"]

ConfigStore.instance().store(name="serve_schema", node=ServeSettings)
log = logging.getLogger("mlsys.serve")


@hydra.main(config_path=str(CONFIG_DIR), config_name="serve", execution_whitelist=["mlsys.*"])
def main(cfg: DictConfig) -> None:
    """Start uvicorn with the app factory."""
    import uvicorn

    from mlsys.logs import configure_logging
    from mlsys.serving import create_app

    settings = ServeSettings(**OmegaConf.to_container(cfg, resolve=True))  # type: ignore[arg-type]
    # A server logs JSON lines by default (log_format=json); Hydra's serve.log follows suit.
    configure_logging("INFO", fmt=settings.log_format)
    if settings.workers > 1:
        print(
            "error: workers > 1 needs an import string; run `uvicorn serving.asgi:app "
            "--workers N` (settings from MLSYS_SERVE_* environment variables).",
            file=sys.stderr,
        )
        sys.exit(2)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=False,  # the app writes its own access line (with the model version)
        log_config=None,  # uvicorn's own lines go through mlsys.logs too
    )


if __name__ == "__main__":
    main()
