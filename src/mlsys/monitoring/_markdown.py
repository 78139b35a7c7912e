"""Markdown helpers shared by the data-quality section and the model card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlsys.monitoring._drift import ColumnDrift, DriftReport

__all__ = ["cell", "drift_markdown", "number", "oneline", "percent", "table"]


def oneline(value: Any) -> str:
    """Text on one line (a list item, a sentence): line breaks and runs of spaces as one space."""
    return " ".join(("" if value is None else str(value)).split())


def cell(value: Any) -> str:
    """Text safe inside a markdown table cell: ``|`` escaped, line breaks as spaces."""
    return oneline(value).replace("\\", "\\\\").replace("|", "\\|")


def number(value: float | None, digits: int = 4) -> str:
    """A metric: ``0.8361``; an em dash when undefined."""
    return "—" if value is None else f"{value:.{digits}f}"


def percent(value: float | None, digits: int = 1) -> str:
    """A share as a percentage: ``10.4 %``; an em dash when undefined."""
    return "—" if value is None else f"{100 * value:.{digits}f} %"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table; every cell escaped."""
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _status(entry: ColumnDrift) -> str:
    return entry.severity.replace("_", " ")


def drift_markdown(report: DriftReport) -> str:
    """The data-quality section of a file: one row per column, then the alerts."""
    entries = [*report.columns, *([report.score] if report.score else [])]
    rows = [
        (
            e.column,
            e.kind,
            number(e.psi, 3),
            _status(e),
            f"{percent(e.missing_rate)} ({percent(e.training_missing_rate)})",
            f"{e.out_of_range:,}" if e.kind in ("numeric", "score") else "",
            f"{e.unseen:,}" if e.kind == "categorical" else "",
        )
        for e in entries
    ]
    header = ("column", "kind", "PSI", "status", "missing (training)", "out of range", "unseen")
    lines = [
        f"Data quality and drift of {report.rows:,} rows against the training profile.",
        "",
        table(header, rows),
        "",
    ]
    if report.alerts:
        lines += [f"- **{a.severity}**: {a.message}" for a in report.alerts]
    else:
        lines.append("No alerts.")
    return "\n".join(lines) + "\n"
