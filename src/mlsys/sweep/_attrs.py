"""The user attributes a sweep writes on Optuna trials and studies: one name per fact."""

from __future__ import annotations

__all__ = ["ENDED_ATTR", "HOST_ATTR", "PID_ATTR", "PROCESS_ATTR", "RUN_DIR_ATTR", "STALE_ATTR"]

HOST_ATTR = "mlsys.host"
PID_ATTR = "mlsys.pid"
#: Which sweep process reserved the trial: host, pid and a random token, because a pid is
#: reused (a container restarted on the same host name often gets the same pid).
PROCESS_ATTR = "mlsys.process"
RUN_DIR_ATTR = "mlsys.run_dir"
STALE_ATTR = "mlsys.interrupted"
#: Study user attribute ``mlsys.ended.<process>``: that process has ended its sweep.
ENDED_ATTR = "mlsys.ended"
