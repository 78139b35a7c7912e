"""The sweep summary: what a process ending later with an older view of the study writes."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pandas as pd
import pytest

from mlsys.sweep import summarize

pytestmark = pytest.mark.unit


def _study(n_complete: int) -> optuna.Study:
    study = optuna.create_study(study_name="shared", direction="maximize")
    for value in range(n_complete):
        trial = study.ask()
        trial.suggest_float("C", 0.1, 1.0)
        study.tell(trial, float(value))
    return study


def test_a_summary_never_replaces_one_with_more_of_the_study(tmp_path: Path) -> None:
    summarize(_study(3), tmp_path, ["maximize"])

    summarize(_study(2), tmp_path, ["maximize"])  # a process that saw less, ending later

    summary = json.loads((tmp_path / "sweep_summary.json").read_text())
    assert (summary["n_complete"], summary["best_trial"]) == (3, 2)
    assert len(pd.read_csv(tmp_path / "trials.csv")) == 3
    summarize(_study(4), tmp_path, ["maximize"])
    assert json.loads((tmp_path / "sweep_summary.json").read_text())["n_complete"] == 4
