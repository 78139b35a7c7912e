"""The tracker protocol, the record it receives, and the no-op implementation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = ["NullTracker", "RunRecord", "Tracker"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRecord:
    """Everything a finished training run hands to a tracker.

    Attributes:
        run_name: Human-readable name (experiment name + model).
        params: The resolved config, flattened to dotted keys.
        metrics: Test-split metrics (numbers only), plus ``val_`` prefixed validation metrics.
        tags: Provenance: git sha, data sha256, config hash, sweep id, user.
        output_dir: The run directory whose files are the run's artifacts.
        bundle_path: The model bundle file inside ``output_dir``.
        timings: Wall seconds per pipeline stage.
        dataset: Name, source and digest of the training data.
        input_example: A few raw input rows, for the MLflow model's signature and example.
        bundle: The fitted bundle saved at ``bundle_path``, when the caller holds it: a tracker
            that logs the model uses it instead of loading the file again.
    """

    run_name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    tags: dict[str, str]
    output_dir: Path
    bundle_path: Path
    timings: dict[str, float] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    input_example: Any = None
    bundle: Any = None


@runtime_checkable
class Tracker(Protocol):
    """Records finished runs.

    Attributes:
        required: When true, a run that cannot be tracked fails (exit 2); otherwise it goes on
            untracked, its local artifacts stand on their own, and it ends with a warning.
    """

    required: bool

    def prepare(self) -> object:
        """Check, before the run does any work, that a run can be recorded; raise if not."""
        ...

    def log_run(self, record: RunRecord) -> str | None:
        """Record the run; return the tracker's run id (``None`` if it keeps none)."""
        ...


class NullTracker:
    """Records nothing: the run directory on disk is the only record."""

    def __init__(self, required: bool = False) -> None:
        self.required = required

    def prepare(self) -> None:
        """Nothing to check."""

    def log_run(self, record: RunRecord) -> str | None:
        """Log where the artifacts are and return no id."""
        log.info("Tracking off (tracker=none): artifacts are in %s", record.output_dir)
        return None
