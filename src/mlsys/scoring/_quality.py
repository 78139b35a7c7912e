"""The data-quality section of a scored file: its rows against the model's training profile.

Batch scoring (``ml-predict``) and evaluation (``ml-evaluate``) hand a
:class:`~mlsys.monitoring.DriftAccumulator` to :func:`~mlsys.scoring.iter_scored`, the one
scoring path, which counts every validated chunk and its scores into it; so both command lines
report the same PSI and counts for the same rows. Rows rejected by validation are not checked:
their reasons are in the rejects file. A model without a training profile (a bundle built by
hand, or written before profiles existed) gets a section that says so instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from mlsys.errors import BundleError

if TYPE_CHECKING:
    from mlsys.models import ModelBundle
    from mlsys.monitoring import DriftAccumulator, DriftReport

__all__ = [
    "DRIFT_EXIT_CODE",
    "NO_PROFILE",
    "default_quality_path",
    "drift_counter",
    "quality_dict",
    "quality_markdown",
    "quality_verdict",
    "require_profile",
]

DRIFT_EXIT_CODE: Final = 3
"""Exit code of ``ml-predict``/``ml-evaluate --fail-on-drift`` when an alert fires (2 is bad
input, 1 anything else)."""

NO_PROFILE: Final = (
    "not checked: the model carries no training profile (a bundle built by hand, or written "
    "before profiles existed). Fix: retrain it with this mlsys version (python -m mlsys.train) "
    "to check files against its data expectations."
)
"""What the data-quality section says for a model without a training profile."""


def drift_counter(bundle: ModelBundle) -> DriftAccumulator | None:
    """An empty counter against ``bundle``'s training profile; ``None`` without a profile."""
    if bundle.profile is None:
        return None
    from mlsys.monitoring import DriftAccumulator

    return DriftAccumulator(bundle.profile)


def require_profile(bundle: ModelBundle, label: str) -> None:
    """Refuse ``--fail-on-drift`` for a model that has nothing to check a file against.

    Raises:
        BundleError: ``bundle`` has no training profile.
    """
    if bundle.profile is None:
        raise BundleError(
            f"--fail-on-drift: model {label} carries no training profile, so no file can be "
            "checked against its data expectations. Fix: retrain it with this mlsys version "
            "(python -m mlsys.train), or drop --fail-on-drift."
        )


def quality_dict(report: DriftReport | None, unchecked: str = NO_PROFILE) -> dict[str, Any]:
    """The section as JSON: the report (``checked: true``), or why there is none."""
    if report is None:
        return {"checked": False, "reason": unchecked}
    return {"checked": True, **report.to_dict()}


def quality_verdict(report: DriftReport | None, unchecked: str = NO_PROFILE) -> str:
    """The section in one line, for the end of a command line's summary."""
    return report.verdict() if report is not None else f"data quality: {unchecked}"


def quality_markdown(
    report: DriftReport | None, source: str | Path, unchecked: str = NO_PROFILE
) -> str:
    """The section as a markdown page: a title naming the file, the table, the alerts."""
    body = report.to_markdown() if report is not None else f"Data quality {unchecked}\n"
    return f"# Data quality: {source}\n\n{body}"


def default_quality_path(output: Path) -> Path:
    """``<output stem>.quality.md`` beside the output."""
    return output.with_name(f"{output.stem}.quality.md")
