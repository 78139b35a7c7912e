"""Training: run the stages of one experiment and leave a complete run directory.

:class:`TrainingPipeline` orchestrates the stages; the run directory's files, the run's
provenance and what a failing tracking store means each live in a module of their own.
"""

from __future__ import annotations

from mlsys.training._pipeline import TrainingPipeline, TrainingResult

__all__ = ["TrainingPipeline", "TrainingResult"]
