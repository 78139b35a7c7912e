"""Hyperparameter sweeps: Hydra's Optuna sweeper with study-wide budgets, resume and summaries.

Importing this package imports Optuna; ``mlsys.train`` does so only for multirun commands.
"""

from __future__ import annotations

from mlsys.sweep._summary import SweepSummary, summarize
from mlsys.sweep._sweeper import MlsysOptunaSweeper, MlsysOptunaSweeperConf, register

__all__ = ["MlsysOptunaSweeper", "MlsysOptunaSweeperConf", "SweepSummary", "register", "summarize"]
