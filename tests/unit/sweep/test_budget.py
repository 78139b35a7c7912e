"""The sweeper's study-wide budget and its view of which process owns a trial."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import optuna
import pytest
from omegaconf import OmegaConf
from optuna.storages import InMemoryStorage
from optuna.trial import FrozenTrial, TrialState

from mlsys.sweep._sweeper import (
    HOST_ATTR,
    PID_ATTR,
    PROCESS_ATTR,
    _owner,
    _StudySweeper,
)

pytestmark = pytest.mark.unit


class _TellsBetweenReads(InMemoryStorage):
    """A storage where another process tells one RUNNING trial COMPLETE after the next read."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: int | None = None

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Any = None
    ) -> list[FrozenTrial]:
        trials = super().get_all_trials(study_id, deepcopy, states)
        if self.pending is not None:
            trial_id, self.pending = self.pending, None
            self.set_trial_state_values(trial_id, TrialState.COMPLETE, [0.5])
        return trials


def _sweeper(n_trials: int, tmp_path: Path) -> _StudySweeper:
    sweeper = _StudySweeper(
        optuna.samplers.RandomSampler(seed=0),
        "maximize",
        None,
        "budget",
        n_trials,
        1,
        0.5,
        None,
        None,
        offer_best=False,
        stale_after_s=3600.0,
        lock_timeout_s=10.0,
    )
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    return sweeper


def test_a_trial_told_while_the_budget_is_counted_is_counted_once(tmp_path: Path) -> None:
    storage = _TellsBetweenReads()
    study = optuna.create_study(storage=storage, study_name="budget", direction="maximize")
    for _ in range(2):
        study.tell(study.ask(), 0.1)
    running = study.ask()  # another live process's trial, told while this process counts
    running.set_user_attr(HOST_ATTR, socket.gethostname())
    running.set_user_attr(PID_ATTR, os.getppid())
    running.set_user_attr(PROCESS_ATTR, "another process")
    storage.pending = running._trial_id

    reserved = _sweeper(3, tmp_path)._ask(study, 5)

    assert storage.pending is None  # the other process did tell during the count
    assert reserved == []  # 2 complete + 1 running use up the budget of 3
    assert len(study.trials) == 3


def test_trials_reserved_record_their_own_run_directory(tmp_path: Path) -> None:
    study = optuna.create_study(direction="maximize")
    sweeper = _sweeper(3, tmp_path)

    trials = sweeper._ask(study, 2)

    assert [t.user_attrs["mlsys.run_dir"] for t in trials] == [
        str(tmp_path.absolute() / "trial_0000"),
        str(tmp_path.absolute() / "trial_0001"),
    ]
    assert {t.user_attrs[PROCESS_ATTR] for t in trials} == {sweeper.process}


def test_owner_of_a_trial(tmp_path: Path) -> None:
    me = _sweeper(1, tmp_path).process
    host = socket.gethostname()

    def owner(**attrs: object) -> str:
        return _owner({f"mlsys.{k}": v for k, v in attrs.items()}, me)

    assert owner(host=host, pid=os.getpid(), process=me) == "this"
    assert owner(host=host, pid=os.getppid(), process="other") == "alive"
    # A container restarted on the same host name often gets the same pid: an earlier
    # process that had ours is gone.
    assert owner(host=host, pid=os.getpid(), process="earlier") == "dead"
    assert owner(host=host, pid=0, process="other") == "dead"
    assert owner() == "dead"  # never tagged: died between reserving and tagging
    assert owner(host=f"not-{host}", pid=os.getppid(), process="other") == "unknown"
