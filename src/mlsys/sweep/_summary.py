"""The end-of-sweep summary: best trial, trial table, parameter importances."""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from mlsys.files import atomic_path, write_json
from mlsys.sweep._attrs import HOST_ATTR, PID_ATTR, RUN_DIR_ATTR

__all__ = ["SweepSummary", "summarize"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep found."""

    study_name: str
    n_complete: int
    n_failed: int
    best_value: float | None
    best_params: dict[str, Any]
    best_trial: int | None
    best_run_dir: Path | None
    best_host: str | None
    best_pid: int | None
    importances: dict[str, float]
    table: pd.DataFrame


def _importances(study: optuna.Study) -> dict[str, float]:
    try:
        return {
            k: round(float(v), 4) for k, v in optuna.importance.get_param_importances(study).items()
        }
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        log.info("Parameter importances unavailable: %s", exc)
        return {}


def _newer_on_disk(path: Path, study_name: str, n_finished: int) -> bool:
    """Whether ``path`` summarises this study with more finished trials than ``n_finished``."""
    try:
        existing = json.loads(path.read_text())
        return bool(
            existing["study_name"] == study_name
            and existing["n_complete"] + existing["n_failed"] > n_finished
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def summarize(
    study: optuna.Study,
    sweep_dir: Path,
    directions: list[str],
    lock: contextlib.AbstractContextManager[None] | None = None,
) -> SweepSummary:
    """Write ``sweep_summary.json``, ``trials.csv`` into ``sweep_dir``; log the table.

    Processes of one study may share ``sweep_dir`` and end in any order, so a summary never
    replaces one of the same study with more finished trials; ``lock`` (the study lock) makes
    that check and the writes one step.
    """
    trials = study.get_trials(deepcopy=False)
    rows = []
    for t in trials:
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
        if t.values is not None:
            for i, value in enumerate(t.values):
                row["value" if len(t.values) == 1 else f"value_{i}"] = value
        row.update({f"param.{k}": v for k, v in t.params.items()})
        row["seconds"] = t.duration.total_seconds() if t.duration else None
        row["run_dir"] = t.user_attrs.get(RUN_DIR_ATTR)
        rows.append(row)
    table = pd.DataFrame(rows)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = study.best_trial if complete and len(directions) == 1 else None
    importances = _importances(study) if len(complete) >= 2 and len(directions) == 1 else {}
    summary = SweepSummary(
        study_name=study.study_name,
        n_complete=len(complete),
        n_failed=sum(t.state == TrialState.FAIL for t in trials),
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else {},
        best_trial=best.number if best else None,
        best_run_dir=Path(best.user_attrs[RUN_DIR_ATTR])
        if best and RUN_DIR_ATTR in best.user_attrs
        else None,
        best_host=best.user_attrs.get(HOST_ATTR) if best else None,
        best_pid=best.user_attrs.get(PID_ATTR) if best else None,
        importances=importances,
        table=table,
    )
    payload = {
        "study_name": summary.study_name,
        "directions": directions,
        "n_complete": summary.n_complete,
        "n_failed": summary.n_failed,
        "best_trial": summary.best_trial,
        "best_value": summary.best_value,
        "best_params": summary.best_params,
        "best_run_dir": str(summary.best_run_dir) if summary.best_run_dir else None,
        "param_importances": importances,
        "pareto_front": [
            {"trial": t.number, "values": t.values, "params": t.params}
            for t in (study.best_trials if len(directions) > 1 and complete else [])
        ],
    }
    sweep_dir.mkdir(parents=True, exist_ok=True)
    target = sweep_dir / "sweep_summary.json"
    with lock or contextlib.nullcontext():
        if _newer_on_disk(target, summary.study_name, summary.n_complete + summary.n_failed):
            log.info("%s already summarises more of the study; kept", target)
        else:
            with atomic_path(sweep_dir / "trials.csv") as csv:
                table.to_csv(csv, index=False)
            write_json(target, payload)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        log.info("Sweep '%s' trials:\n%s", summary.study_name, table.drop(columns=["run_dir"]))
    log.info(
        "Sweep '%s': %d complete, %d failed; best value %s with %s; importances %s",
        summary.study_name,
        summary.n_complete,
        summary.n_failed,
        summary.best_value,
        summary.best_params,
        importances,
    )
    return summary
