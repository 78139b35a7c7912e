"""Components of a finished run, rebuilt from the run's own ``config.yaml``.

Entry points that act on a run after the fact (offering it to the champion gate, measuring its
scoring latency in a sweep) build what they need here and hand it to Hydra-agnostic code:
:class:`mlsys._rundir.RunDir` reads the directory, :func:`mlsys.registry.offer_run` offers it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsys._instantiate import instantiate_component
from mlsys._rundir import RunDir
from mlsys.registry import GateDecision, offer_run

__all__ = ["offer_run_dir", "run_component"]


def run_component(run: RunDir, group: str) -> Any:
    """The run's component of config group ``group`` (``data``, ``split``, ...), unfitted."""
    return instantiate_component(run.config[group], group)


def offer_run_dir(run_dir: Path) -> GateDecision | None:
    """Offer a finished run to its own registry; ``None`` when its config has ``registry=none``.

    Raises:
        DataError: ``run_dir`` is not a finished run, was not tracked, or its data changed.
    """
    run = RunDir.open(run_dir, purpose="offer")
    return offer_run(
        run,
        promoter=run_component(run, "registry"),
        data=run_component(run, "data"),
        splitter=run_component(run, "split"),
        evaluator=run_component(run, "evaluation"),
    )
