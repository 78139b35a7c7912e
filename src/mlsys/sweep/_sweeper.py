"""The Optuna sweeper mlsys uses: Hydra's, plus study-wide trial budgets, resume and progress.

Hydra's Optuna sweeper runs ``n_trials`` trials per process. For a sweep shared by several
processes or machines, or restarted after a crash, mlsys needs ``n_trials`` to mean the size of
the *study*, so this sweeper:

* changes trials only under a lock on the study (a PostgreSQL advisory lock for
  ``postgresql://`` storage, a file lock for SQLite): it counts the trials that hold budget
  (running, or finished and not interrupted) from one read of the study and asks only for what
  is left, and it tells results under the same lock, so parallel processes never overshoot;
* before each reservation, fails trials left RUNNING by a dead process on this host (or older
  than ``stale_after_s`` in another process), so a killed sweep resumes where it stopped;
* runs each trial in ``<sweep dir>/trial_<number>``: the Optuna trial number is unique in the
  study, across processes and resumes (Hydra's ``hydra.job.num`` counts one process's jobs);
* records failed trials as FAIL and carries on (within ``max_failure_rate``);
* logs each trial's number, params and value as it ends, and ``done / total`` progress;
* writes a summary (best params and value, trial table, parameter importances); the process
  that ends with the study complete offers the best trial's model to the champion gate, unless
  the process that ran that trial is alive on this host and will offer it itself.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import math
import os
import socket
import sys
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

import optuna
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import (
    OptunaSweeperImpl,
    create_params_from_overrides,
)
from hydra_plugins.hydra_optuna_sweeper.config import OptunaSweeperConf
from omegaconf import DictConfig
from optuna.trial import FrozenTrial, TrialState

from mlsys.errors import ConfigError
from mlsys.files import process_alive
from mlsys.sweep._attrs import (
    ENDED_ATTR,
    HOST_ATTR,
    PID_ATTR,
    PROCESS_ATTR,
    RUN_DIR_ATTR,
    STALE_ATTR,
)
from mlsys.sweep._summary import summarize

__all__ = ["MlsysOptunaSweeper", "MlsysOptunaSweeperConf", "register", "trial_dir_name"]

log = logging.getLogger(__name__)

_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
_Owner = Literal["this", "alive", "dead", "unknown"]


@dataclass
class MlsysOptunaSweeperConf(OptunaSweeperConf):
    """Hydra's Optuna sweeper config plus mlsys's study-wide budget options."""

    _target_: str = "mlsys.sweep._sweeper.MlsysOptunaSweeper"
    #: Offer the best trial's model to the champion gate when the sweep ends.
    offer_best: bool = True
    #: A RUNNING trial of another process older than this (seconds) is considered dead; on this
    #: host a dead process is recognised at once.
    stale_after_s: float = 6 * 3600.0
    #: How long a process waits for the study lock (reserving trials) before it fails.
    lock_timeout_s: float = 600.0


def register() -> None:
    """Make ``hydra/sweeper=mlsys_optuna`` available (idempotent)."""
    Plugins.instance().register(MlsysOptunaSweeper)
    ConfigStore.instance().store(
        group="hydra/sweeper",
        name="mlsys_optuna",
        node=MlsysOptunaSweeperConf,
        provider="mlsys",
    )


def trial_dir_name(number: int) -> str:
    """The run directory of Optuna trial ``number``, under the sweep directory."""
    return f"trial_{number:04d}"


def _owner(attrs: Mapping[str, Any], process: str) -> _Owner:
    """Whose trial this is, seen from the sweep process ``process`` (its PROCESS_ATTR)."""
    if attrs.get(PROCESS_ATTR) == process:
        return "this"
    if HOST_ATTR not in attrs:
        # Trials are asked and tagged under the study lock: an untagged trial belongs to a
        # process that died between the two.
        return "dead"
    if attrs[HOST_ATTR] != socket.gethostname():
        return "unknown"
    pid = int(attrs.get(PID_ATTR, 0))
    # Our own pid under another token belonged to an earlier process, which is gone.
    if pid == os.getpid() or not process_alive(pid):
        return "dead"
    return "alive"


def _used(trials: Sequence[FrozenTrial]) -> int:
    """Trials that hold or used up budget: running, or finished and not interrupted."""
    return sum(
        t.state == TrialState.RUNNING or (t.state in _FINISHED and not t.user_attrs.get(STALE_ATTR))
        for t in trials
    )


class _StudySweeper(OptunaSweeperImpl):
    """Hydra's implementation with a study-wide budget loop."""

    def __init__(
        self, *args: Any, offer_best: bool, stale_after_s: float, lock_timeout_s: float
    ) -> None:
        super().__init__(*args)
        self.offer_best = offer_best
        self.stale_after_s = stale_after_s
        self.lock_timeout_s = lock_timeout_s
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        """The study lock: every reservation, result and end of a sweep happens under it."""
        from mlsys._locks import registry_lock

        if not isinstance(self.storage, str):
            return contextlib.nullcontext()
        study_name = self.study_name or "default"
        return registry_lock(
            self.storage,
            f"optuna-{study_name}",
            self.lock_timeout_s,
            what=f"sweep study '{study_name}'",
            setting="hydra.sweeper.lock_timeout_s",
            uri_setting="hydra.sweeper.storage",
        )

    def sweep(self, arguments: list[str]) -> None:
        """Run trials until the study holds ``n_trials`` finished ones."""
        assert self.config is not None
        assert self.launcher is not None
        self._process_searchspace_config()
        params_conf = self._parse_sweeper_params_config()
        params_conf.extend(arguments)
        distributions, fixed_params, fixed_overrides = create_params_from_overrides(params_conf)
        for name in fixed_params:
            distributions.pop(name, None)
        if isinstance(self.sampler, functools.partial) and (
            self.sampler.func == optuna.samplers.GridSampler
        ):
            grid = {n: self._to_grid_sampler_choices(d) for n, d in distributions.items()}
            self.sampler = self.sampler(grid)
            self.n_trials = min(self.n_trials, math.prod(len(v) for v in grid.values()))
            log.info("Grid sampler: %d trials cover the grid", self.n_trials)
        directions = self._get_directions()
        # Under the lock: processes starting together would race creating the storage schema.
        with self._lock():
            study = optuna.create_study(
                study_name=self.study_name,
                storage=self.storage,
                sampler=self.sampler,
                directions=cast(list[Literal["minimize", "maximize"]], directions),
                load_if_exists=True,
            )
        log.info(
            "Study '%s' in %s: %d trials wanted, %d already finished",
            study.study_name,
            self.storage or "memory",
            self.n_trials,
            _finished(study),
        )
        if self.storage is not None:
            # With shared or persistent storage, a seeded sampler in a second process, or in a
            # resumed one, would replay the same draws as the first. Which process asks first
            # is not reproducible anyway, so each process draws from fresh entropy.
            study.sampler.reseed_rng()
        space = (distributions, fixed_params, fixed_overrides)
        done = False
        while not done:
            if self.n_jobs > 1 and type(self.launcher).__name__ == "JoblibLauncher":
                self._run_streaming(study, directions, space)
            else:
                self._run_batches(study, directions, space)
            done, best = self._end(study, directions)
        # Another process may still be finishing its last trials; summarise what is there.
        summarize(study, Path(self.config.hydra.sweep.dir), directions, self._lock())
        if best is not None:
            self._offer(best)

    def _ask(self, study: optuna.Study, size: int) -> list[optuna.Trial]:
        """Reserve up to ``size`` new trials, never past the study's budget.

        Counting and asking happen under the study lock, and the count comes from one read of
        the study: counting finished trials, then running ones, in two reads would miss a trial
        told COMPLETE in between and ask for one trial too many.
        """
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir)).absolute()
        with self._lock():
            self._fail_stale(study)
            left = self.n_trials - _used(study.get_trials(deepcopy=False))
            trials = [study.ask() for _ in range(max(0, min(size, left)))]
            for trial in trials:
                trial.set_user_attr(HOST_ATTR, socket.gethostname())
                trial.set_user_attr(PID_ATTR, os.getpid())
                trial.set_user_attr(PROCESS_ATTR, self.process)
                trial.set_user_attr(RUN_DIR_ATTR, str(sweep_dir / trial_dir_name(trial.number)))
            return trials

    def _configure_trials(
        self,
        trials: list[optuna.Trial],
        search_space_distributions: dict[str, Any],
        fixed_params: dict[str, Any],
        fixed_overrides: list[str],
    ) -> Sequence[Sequence[str]]:
        """Hydra's overrides for each trial, plus its run directory named by trial number."""
        overrides = super()._configure_trials(
            trials, search_space_distributions, fixed_params, fixed_overrides
        )
        return [
            (*trial_overrides, f"hydra.sweep.subdir={trial_dir_name(trial.number)}")
            for trial_overrides, trial in zip(overrides, trials, strict=True)
        ]

    def _end(self, study: optuna.Study, directions: list[str]) -> tuple[bool, FrozenTrial | None]:
        """Whether this process is done, and the best trial if this process offers it.

        Trials freed by a process that died since this one's last reservation mean it is not
        done: it runs them. Otherwise it records that it has ended. The process that finds the
        study complete (nothing running) offers the best trial, unless the process that ran
        that trial is alive on this host and has not ended: that one will find the study
        complete when it ends, and offer it. Deciding and recording happen under the study
        lock, so of two processes ending together the later one sees the earlier one's record
        and the best trial is never left unoffered. An offer made twice registers nothing
        twice (``ChampionGate.offer``) and the gate refuses a model that does not win.
        """
        with self._lock():
            self._fail_stale(study)
            trials = study.get_trials(deepcopy=False)
            if _used(trials) < self.n_trials:
                return False, None
            ended = set(study.user_attrs)
            study.set_user_attr(
                f"{ENDED_ATTR}.{self.process}", datetime.now(UTC).isoformat(timespec="seconds")
            )
        running = [t.number for t in trials if t.state == TrialState.RUNNING]
        if running:
            log.info(
                "Trials %s are still running in other processes; the process that ends last "
                "offers the best trial.",
                running,
            )
            return True, None
        if not self.offer_best or len(directions) != 1:
            return True, None
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if not complete:
            return True, None
        best = study.best_trial
        owner = best.user_attrs.get(PROCESS_ATTR)
        if (
            _owner(best.user_attrs, self.process) == "alive"
            and owner is not None
            and f"{ENDED_ATTR}.{owner}" not in ended
        ):
            log.info(
                "Best trial %d ran in process %s, which is still running; it offers the trial "
                "when it ends.",
                best.number,
                best.user_attrs.get(PID_ATTR),
            )
            return True, None
        return True, best

    def _check_failures(self, failures: int, done: int) -> None:
        if done and failures / done > self.max_failure_rate:
            raise RuntimeError(
                f"sweep: {failures} of {done} trials failed, above "
                f"hydra.sweeper.max_failure_rate={self.max_failure_rate}. Fix: check the failed "
                "runs' logs, or raise max_failure_rate."
            )

    def _run_batches(
        self, study: optuna.Study, directions: list[str], space: tuple[Any, ...]
    ) -> None:
        """One batch of ``n_jobs`` trials at a time (any launcher)."""
        assert self.launcher is not None
        while trials := self._ask(study, self.n_jobs):
            overrides = self._configure_trials(trials, *space)
            returns = self.launcher.launch(overrides, initial_job_idx=self.job_idx)
            self.job_idx += len(returns)
            failures = sum(
                self._tell(study, t, r, len(directions))
                for t, r in zip(trials, returns, strict=True)
            )
            self._progress(study, directions)
            self._check_failures(failures, len(returns))

    def _run_streaming(
        self, study: optuna.Study, directions: list[str], space: tuple[Any, ...]
    ) -> None:
        """Keep ``n_jobs`` trials in flight: a worker takes the next trial as soon as it is free.

        Batches wait for their slowest trial, which leaves a core idle whenever trial times
        differ (they always do: depth, learning rate and early stopping change the work).
        """
        assert self.launcher is not None
        launcher = self.launcher
        state = {"failures": 0, "done": 0}
        guard = threading.Lock()

        def worker() -> None:
            while True:
                with guard:
                    trials = self._ask(study, 1)
                    if not trials:
                        return
                    overrides = self._configure_trials(trials, *space)
                    job_idx, self.job_idx = self.job_idx, self.job_idx + 1
                (ret,) = launcher.launch(overrides, initial_job_idx=job_idx)
                failed = self._tell(study, trials[0], ret, len(directions))
                with guard:
                    state["failures"] += failed
                    state["done"] += 1
                    self._progress(study, directions)
                    if state["done"] >= self.n_jobs:
                        self._check_failures(state["failures"], state["done"])

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
            futures = [pool.submit(worker) for _ in range(self.n_jobs)]
            for future in futures:
                future.result()

    def _fail_stale(self, study: optuna.Study) -> int:
        """Mark RUNNING trials of dead processes FAIL and interrupted (call under the lock)."""
        now = datetime.now(UTC)
        marked = 0
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = _owner(trial.user_attrs, self.process)
            started = trial.datetime_start
            age = (now - started.astimezone(UTC)).total_seconds() if started else 0.0
            if owner == "this" or (owner != "dead" and age <= self.stale_after_s):
                continue
            # Marked, so the budget does not count it: it was interrupted, not a failure.
            study._storage.set_trial_user_attr(trial._trial_id, STALE_ATTR, True)
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            marked += 1
            log.warning(
                "Trial %d was left RUNNING by a process that is gone (%s, pid %s); marked FAIL "
                "so the study can finish its budget.",
                trial.number,
                trial.user_attrs.get(HOST_ATTR, "unknown host"),
                trial.user_attrs.get(PID_ATTR, "unknown"),
            )
        return marked

    def _tell(self, study: optuna.Study, trial: optuna.Trial, ret: Any, n_objectives: int) -> int:
        """Record a trial's result (under the study lock); 1 if it failed, else 0."""
        try:
            value = ret.return_value
            values = [float(v) for v in value] if n_objectives > 1 else [float(value)]
            if len(values) != n_objectives:
                raise ValueError(f"expected {n_objectives} objective values, got {len(values)}")
        except Exception as exc:
            with self._lock():
                _tell(study, trial, state=TrialState.FAIL)
            log.warning("Trial %d FAILED (%s): %s", trial.number, type(exc).__name__, exc)
            return 1
        with self._lock():
            _tell(study, trial, values=values)
        log.info(
            "Trial %d finished: value %s, params %s",
            trial.number,
            values if n_objectives > 1 else values[0],
            trial.params,
        )
        return 0

    def _progress(self, study: optuna.Study, directions: list[str]) -> None:
        done = _count(study, (TrialState.COMPLETE,))
        failed = _count(study, (TrialState.FAIL,)) - _count_stale(study)
        best = ""
        if done and len(directions) == 1:
            best = f", best value {study.best_value:.4f} (trial {study.best_trial.number})"
        log.info(
            "Sweep progress: %d/%d trials done (%d failed)%s",
            done + failed,
            self.n_trials,
            failed,
            best,
        )

    def _offer(self, best: FrozenTrial) -> None:
        run_dir = Path(best.user_attrs.get(RUN_DIR_ATTR, ""))
        if RUN_DIR_ATTR not in best.user_attrs or not run_dir.is_dir():
            log.warning(
                "Best trial %d ran on %s; its run directory %s is not on this machine. Offer it "
                "from there: ml-register offer %s",
                best.number,
                best.user_attrs.get(HOST_ATTR, "an unknown host"),
                run_dir,
                run_dir,
            )
            return
        from mlsys._rebuild import offer_run_dir

        try:
            decision = offer_run_dir(run_dir)
        except Exception as exc:
            log.error("Offering the best trial (%s) to the champion gate failed: %s", run_dir, exc)
            return
        if decision is not None:
            log.info("Best trial: %s", decision.summary())
            print(decision.summary(), file=sys.stderr)


def _tell(study: optuna.Study, trial: optuna.Trial, **kwargs: Any) -> None:
    try:
        # A trial of a process presumed dead (stale_after_s) may already be marked FAIL:
        # Optuna then logs a warning and keeps the mark.
        study.tell(trial, skip_if_finished=True, **kwargs)
    except RuntimeError as exc:
        # The grid sampler calls study.stop() once the grid is covered, which Optuna only
        # allows inside optimize(); the trial itself was recorded before that.
        if "Study.stop" not in str(exc):
            raise


def _count(study: optuna.Study, states: tuple[TrialState, ...]) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


def _count_stale(study: optuna.Study) -> int:
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    return sum(bool(t.user_attrs.get(STALE_ATTR)) for t in failed)


def _finished(study: optuna.Study) -> int:
    """Trials that used up budget: complete, pruned or failed, but not interrupted ones."""
    trials = study.get_trials(deepcopy=False, states=_FINISHED)
    return sum(not t.user_attrs.get(STALE_ATTR) for t in trials)


class MlsysOptunaSweeper(Sweeper):
    """Hydra sweeper plugin (``hydra/sweeper=mlsys_optuna``)."""

    def __init__(
        self,
        sampler: Any,
        direction: Any,
        storage: Any | None,
        study_name: str | None,
        n_trials: int,
        n_jobs: int,
        max_failure_rate: float,
        custom_search_space: str | None,
        params: DictConfig | None,
        offer_best: bool = True,
        stale_after_s: float = 6 * 3600.0,
        lock_timeout_s: float = 600.0,
    ) -> None:
        if not 0 < lock_timeout_s < math.inf:
            raise ConfigError(
                f"hydra.sweeper.lock_timeout_s: got {lock_timeout_s}, expected a positive number "
                "of seconds. Fix: hydra.sweeper.lock_timeout_s=600."
            )
        sampler = instantiate(
            sampler,
            _execution_whitelist_=("hydra_plugins.hydra_optuna_sweeper.*", "optuna.samplers.*"),
        )
        self.sweeper = _StudySweeper(
            sampler,
            direction,
            storage,
            study_name,
            n_trials,
            n_jobs,
            max_failure_rate,
            custom_search_space,
            params,
            offer_best=offer_best,
            stale_after_s=stale_after_s,
            lock_timeout_s=lock_timeout_s,
        )

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Set up the launcher."""
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> None:
        """Run the study."""
        self.sweeper.sweep(arguments)
