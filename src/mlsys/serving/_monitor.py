"""Watching the served model off the response path: the live drift window and the shadow.

A scoring request hands its validated columns and the champion's probabilities to
:meth:`Monitor.offer`, which puts them on a bounded queue without waiting (a full queue drops
the request from monitoring and counts it in ``mlsys_monitor_dropped_total``) and returns. One
background thread takes them off the queue and

1. adds them to the champion's :class:`~mlsys.monitoring.RollingDrift` window (when
   ``serve.drift`` is on and the bundle carries a training profile), whose PSI
   :class:`~mlsys.monitoring.DriftCollector` exports at scrape time;
2. scores them with the shadow challenger, if one is loaded, and tallies both models' scores
   and their agreement in :class:`~mlsys.serving._shadow.ShadowStats`.

The client gets the champion's answer whatever the challenger does: its scoring, its failures
and its reloads all happen on that thread or in the poller.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter

from mlsys.errors import MlsysError
from mlsys.monitoring import DriftCollector, RollingDrift
from mlsys.serving._model import LoadedModel, ModelSource, PathSource, RegistrySource
from mlsys.serving._settings import ServeSettings
from mlsys.serving._shadow import ShadowCollector, ShadowStats, check_compatible

__all__ = ["Monitor", "challenger_source"]

log = logging.getLogger("mlsys.serving.monitor")
shadow_log = logging.getLogger("mlsys.serving.shadow")
Columns = dict[str, np.ndarray[Any, Any]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


#: Most requests monitored in one pass of the background thread.
MAX_BATCH_REQUESTS = 256


@dataclass(frozen=True)
class _Task:
    champion: LoadedModel
    columns: Columns
    probabilities: FloatArray


def _by_champion(tasks: list[_Task | None]) -> list[list[_Task]]:
    """Runs of consecutive requests answered by the same champion (a reload splits a run)."""
    groups: list[list[_Task]] = []
    for task in tasks:
        if task is None:
            break
        if groups and groups[-1][0].champion is task.champion:
            groups[-1].append(task)
        else:
            groups.append([task])
    return groups


def _merge(tasks: list[_Task]) -> _Task:
    """One task holding the rows of ``tasks``, in order."""
    if len(tasks) == 1:
        return tasks[0]
    first = tasks[0]
    columns = {name: np.concatenate([t.columns[name] for t in tasks]) for name in first.columns}
    probabilities = np.concatenate([t.probabilities for t in tasks])
    return _Task(first.champion, columns, probabilities)


def challenger_source(settings: ServeSettings) -> ModelSource | None:
    """Where the shadow challenger loads from (``None``: no challenger configured)."""
    if settings.challenger_path:
        return PathSource(settings.challenger_path, name=settings.model_name)
    if settings.challenger_alias or settings.challenger_version:
        alias = settings.challenger_alias or "challenger"
        return RegistrySource(settings.model_name, alias=alias, uri=settings.tracking_uri)
    return None


class Monitor:
    """The drift window of the champion, the shadow challenger and the thread that feeds both.

    Args:
        settings: ``drift``, ``drift_window``, ``monitor_queue`` and the challenger settings.
        registry: Where its metrics are registered (the app's).
        source: Where the challenger loads from (default: from ``settings``).

    Example:
        >>> settings = ServeSettings(challenger_path="v2.joblib")
        >>> monitor = Monitor(settings, registry)  # doctest: +SKIP
        >>> monitor.offer(champion, columns, probabilities)  # never blocks  # doctest: +SKIP
        >>> monitor.flush()  # tests: wait for the queue  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: ServeSettings,
        registry: CollectorRegistry,
        source: ModelSource | None = None,
    ) -> None:
        self.settings = settings
        self.source = source or challenger_source(settings)
        self.shadow = ShadowStats()
        self.challenger: LoadedModel | None = None
        self.challenger_problem = "" if self.source else "no challenger configured"
        self._champion: LoadedModel | None = None
        # The window with the model it belongs to, swapped as one reference.
        self._drift: tuple[LoadedModel, RollingDrift] | None = None
        self._queue: queue.Queue[_Task | None] = queue.Queue(maxsize=settings.monitor_queue)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.dropped = Counter(
            "mlsys_monitor_dropped",
            "Scoring requests left out of drift and shadow monitoring (its queue was full)",
            registry=registry,
        )
        self.failures = Counter(
            "mlsys_monitor_failures",
            "Requests the monitor failed on (a challenger that cannot score them)",
            registry=registry,
        )
        registry.register(DriftCollector(self.drift))
        registry.register(ShadowCollector(self.shadow))

    # --- request path --------------------------------------------------------------------

    def offer(self, champion: LoadedModel, columns: Columns, probabilities: FloatArray) -> None:
        """Queue one request's rows for monitoring; drop and count them when the queue is full."""
        if self._thread is None:
            return
        try:
            self._queue.put_nowait(_Task(champion, columns, probabilities))
        except queue.Full:
            self.dropped.inc()

    @property
    def challenger_version(self) -> str | None:
        """The version shadowing now, for the access log."""
        challenger = self.challenger
        return challenger.version if challenger else None

    # --- models --------------------------------------------------------------------------

    def drift(self) -> RollingDrift | None:
        """The champion's live window, if drift is on and its bundle has a profile."""
        current = self._drift
        return current[1] if current else None

    def champion_changed(self, model: LoadedModel) -> None:
        """A new champion serves: a fresh window against its profile, a fresh shadow tally."""
        with self._lock:
            self._champion = model
            profile = model.bundle.profile
            if self.settings.drift and profile is not None:
                window = RollingDrift(profile, window=self.settings.drift_window)
                self._drift = (model, window)
            else:
                self._drift = None
                if self.settings.drift:
                    log.warning(
                        "Version %s carries no training profile: no live drift window. Fix: "
                        "serve a version trained since profiles exist.",
                        model.version,
                    )
            self.shadow.reset()
            challenger = self.challenger
            if challenger is not None:
                self._check(challenger)

    def load_challenger(self, version: str | None = None) -> LoadedModel | None:
        """Load (or reload) the challenger; on failure the previous one keeps shadowing.

        ``version`` defaults to ``serve.challenger_version`` when pinned, else what the alias
        points at.
        """
        if self.source is None:
            return None
        version = version or self.settings.challenger_version
        try:
            model = self.source.load(version)
        except (MlsysError, OSError) as exc:
            self.challenger_problem = f"challenger could not be loaded: {exc}"
            log.warning("%s (shadowing %s)", self.challenger_problem, self.challenger_version)
            return None
        with self._lock:
            if self._champion is not None and not self._check(model):
                return None
            self.challenger = model
            self.challenger_problem = ""
            self.shadow.reset()
        log.info("Shadowing with challenger %s from %s", model.version, model.source)
        return model

    def drop_challenger(self, reason: str) -> None:
        """Stop shadowing (the alias was removed)."""
        with self._lock:
            self.challenger = None
            self.challenger_problem = reason
            self.shadow.reset()
        log.info("No challenger: %s", reason)

    def _check(self, challenger: LoadedModel) -> bool:
        assert self._champion is not None
        try:
            check_compatible(self._champion, challenger)
        except MlsysError as exc:
            self.challenger = None
            self.challenger_problem = str(exc)
            log.warning("%s", exc)
            return False
        return True

    def info(self) -> dict[str, Any]:
        """What ``/model/info`` adds: the challenger, the shadow figures, the drift window."""
        challenger = self.challenger
        drift = self.drift()
        return {
            "challenger": challenger.info() if challenger else None,
            "shadow": {
                "configured": self.settings.challenger,
                "problem": self.challenger_problem or None,
                "figures": self.shadow.figures(),
            },
            "drift": {
                "enabled": drift is not None,
                "window": drift.window if drift else None,
                "rows": drift.rows if drift else 0,
            },
        }

    # --- the background thread -----------------------------------------------------------

    def start(self) -> None:
        """Start the background thread (when there is anything to monitor)."""
        if self._thread is None and (self.settings.drift or self.source is not None):
            self._thread = threading.Thread(target=self._work, name="mlsys-monitor", daemon=True)
            self._thread.start()

    def flush(self) -> None:
        """Wait until every queued request has been monitored (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        """Finish the queue and stop the thread."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _work(self) -> None:
        while True:
            tasks = self._take()
            try:
                for group in _by_champion(tasks):
                    self._monitor(_merge(group))
            except Exception:
                self.failures.inc(sum(1 for t in tasks if t is not None))
                log.exception("monitoring requests failed (their clients had their answers)")
            finally:
                for _ in tasks:
                    self._queue.task_done()
            if tasks[-1] is None:
                return

    def _take(self) -> list[_Task | None]:
        """The next request and whatever queued up behind it (up to a batch; stop at ``None``).

        Binning and scoring cost mostly per call, not per row: under load the requests that
        queue up while one batch is monitored are monitored together in the next, so the
        thread's share of the interpreter shrinks as traffic grows.
        """
        tasks = [self._queue.get()]
        while tasks[-1] is not None and len(tasks) < MAX_BATCH_REQUESTS:
            try:
                tasks.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return tasks

    def _monitor(self, task: _Task) -> None:
        drift = self._drift
        if drift is not None and drift[0] is task.champion:  # not a window of a newer model
            drift[1].observe(task.columns, task.probabilities)
        champion = task.champion
        self.shadow.observe("champion", champion.version, task.probabilities)
        challenger = self.challenger
        if challenger is None or champion is not self._champion:
            return
        scores = challenger.bundle.score(task.columns)
        agreed, mean_diff = self.shadow.compare(champion, task.probabilities, challenger, scores)
        if shadow_log.isEnabledFor(logging.DEBUG):
            shadow_log.debug(
                "shadow %s vs %s: %d rows, %d agree, mean |diff| %.4f",
                challenger.version,
                champion.version,
                len(scores),
                agreed,
                mean_diff,
                extra={
                    "model_version": champion.version,
                    "shadow_version": challenger.version,
                    "rows": len(scores),
                    "agreements": agreed,
                    "mean_abs_diff": round(mean_diff, 6),
                },
            )

    async def poll(self) -> None:
        """Reload the challenger when its alias moves (every ``serve.poll_interval_s``)."""
        source = self.source
        if source is None or not self.settings.challenger_alias:
            return
        seen = self.challenger_version
        while True:
            await asyncio.sleep(self.settings.poll_interval_s)
            try:
                target = await asyncio.to_thread(source.current_version)
            except Exception as exc:
                log.error("Challenger poll failed (still shadowing %s): %s", seen, exc)
                continue
            if target is None and seen is not None:
                self.drop_challenger(f"alias '{self.settings.challenger_alias}' was removed")
                seen = None
            elif target is not None and target != seen:
                log.info("Challenger alias moved to version %s: reloading", target)
                if await asyncio.to_thread(self.load_challenger) is not None:
                    seen = target
