"""mlsys: config-driven conversion models for tabular go-to-market data.

The public API a notebook needs::

    from mlsys import compose_config, build_pipeline, train_model

    cfg = compose_config(["model=catboost", "calibration=isotonic"])
    result = train_model(cfg)
    result.metrics["roc_auc"]

Names are imported lazily so ``python -m mlsys.train --cfg job`` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlsys._lazy import lazy_exports

if TYPE_CHECKING:
    from mlsys.config import build_pipeline, compose_config, train_model
    from mlsys.models import ModelBundle
    from mlsys.training import TrainingPipeline, TrainingResult

__all__ = [
    "ModelBundle",
    "TrainingPipeline",
    "TrainingResult",
    "build_pipeline",
    "compose_config",
    "train_model",
]

_LAZY = {
    "ModelBundle": "mlsys.models",
    "TrainingPipeline": "mlsys.training",
    "TrainingResult": "mlsys.training",
    "build_pipeline": "mlsys.config",
    "compose_config": "mlsys.config",
    "train_model": "mlsys.config",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
