"""What a run does when the tracking store or the champion gate fails.

With ``tracker.required=true`` (the default) a failure fails the run: before training when the
store cannot record runs (in seconds, not after the work), after it when recording or offering
fails, and the message says the run directory is complete. With ``tracker.required=false`` the
run goes on untracked (or tracked but not offered), logs loudly, and the CLI says so last.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mlsys.errors import MlsysError, TrackingError
from mlsys.registry import Candidate, GateDecision, Promoter
from mlsys.tracking import RunRecord, Tracker, redact_uri

__all__ = ["TrackingPolicy"]

log = logging.getLogger("mlsys.training")


class TrackingPolicy:
    """Talks to the tracker and the registry for one run, applying ``tracker.required``.

    Each method returns why the run is untracked (or not offered) when tracking is optional,
    ``None`` when nothing was lost; with tracking required it raises instead.

    Args:
        tracker: Where the run is recorded; its ``required`` decides the policy.
        output_dir: The run directory, named in the messages (it is the record that remains).
    """

    def __init__(self, tracker: Tracker, output_dir: Path) -> None:
        self.tracker = tracker
        self.output_dir = output_dir

    def prepare(self) -> str | None:
        """Check the store before any work.

        Raises:
            TrackingError: The store cannot record runs and tracking is required.
        """
        try:
            self.tracker.prepare()
        except Exception as exc:
            return self.failed(exc, "checking the tracking store", trained=False)
        return None

    def record(self, record: RunRecord) -> tuple[str | None, str | None]:
        """Record the finished run; its run id (or ``None``) and why it is untracked."""
        try:
            return self.tracker.log_run(record), None
        except Exception as exc:
            return None, self.failed(exc, "recording the run in the tracking store", trained=True)

    def offer(
        self, registry: Promoter, candidate: Candidate
    ) -> tuple[GateDecision | None, str | None]:
        """The gate's decision, or why the tracked run was not offered (optional tracking)."""
        try:
            return registry.offer(candidate), None
        except Exception as exc:
            if self.tracker.required or isinstance(exc, MlsysError):
                raise
            untracked = (
                f"this run is tracked ({candidate.run_id}) but NOT offered to the champion gate "
                f"({exc}). Offer it later: python -m mlsys.registry offer {self.output_dir}"
            )
            log.error("REGISTRY FAILED: %s", untracked)
            return None, untracked

    def failed(self, exc: Exception, doing: str, *, trained: bool) -> str:
        """Raise when tracking is required; else log loudly and return what the CLI says last.

        ``trained``: the run directory is complete (the failure came after the work).
        """
        uri = getattr(self.tracker, "tracking_uri", None)
        where = f" {redact_uri(uri)}" if isinstance(uri, str) else ""
        if self.tracker.required:
            kept = f"The run directory {self.output_dir} is complete. " if trained else ""
            off = (
                f"{kept}To train without the store: tracker.required=false (the run says it is "
                "not tracked) or tracker=none registry=none."
            )
            if isinstance(exc, MlsysError):
                raise type(exc)(f"{exc} {off}") from exc
            raise TrackingError(
                f"tracker: {doing}{where} failed ({type(exc).__name__}: {exc}). Fix: check the "
                f"store{where}. {off}"
            ) from exc
        untracked = (
            f"this run is NOT tracked: {doing}{where} failed ({exc}). tracker.required=false "
            f"made tracking optional; the run directory {self.output_dir} is its only record."
        )
        log.error("TRACKING FAILED: %s", untracked)
        return untracked
