"""Build one ``_target_`` config node, only from allowed modules.

The one place mlsys turns a config node into an object. :mod:`mlsys.config` validates a config
before building it; entry points that rebuild a finished run from its own ``config.yaml``
(offering it to the gate, measuring its latency) build the components they need here and hand
them to Hydra-agnostic code.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlsys.errors import ConfigError

if TYPE_CHECKING:
    from omegaconf import DictConfig

__all__ = ["ALLOWED_TARGETS", "instantiate_component"]


def _allowed_targets() -> tuple[str, ...]:
    # The environment is trusted (set by whoever deploys mlsys); config files are not.
    extra = os.environ.get("MLSYS_EXTRA_TARGETS", "")
    return ("mlsys.*", *(p.strip() for p in extra.split(",") if p.strip()))


#: Module prefixes a config's ``_target_`` may name (Hydra's ``execution_whitelist`` syntax):
#: ``mlsys.*`` plus the comma-separated prefixes in ``MLSYS_EXTRA_TARGETS`` (e.g. ``acme_ml.*``)
#: for estimators kept in your own package.
ALLOWED_TARGETS: tuple[str, ...] = _allowed_targets()


def instantiate_component(node: DictConfig, key: str) -> Any:
    """Build one `_target_` node under the execution whitelist, mapping failures to ConfigError."""
    from hydra.utils import execution_whitelist, instantiate

    try:
        with execution_whitelist(list(ALLOWED_TARGETS)):
            return instantiate(node, _convert_="all")
    except ConfigError:
        raise
    except Exception as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, ConfigError):
            raise cause from None
        raise ConfigError(f"{key}: could not build {node.get('_target_')}: {cause}") from exc
