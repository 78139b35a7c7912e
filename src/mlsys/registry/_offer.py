"""Offer a finished run directory to the champion gate (used after sweeps, and by the CLI)."""

from __future__ import annotations

import logging

from mlsys._rundir import RunDir
from mlsys.data import DataSource
from mlsys.errors import DataError
from mlsys.evaluation import Evaluator
from mlsys.models import ModelBundle
from mlsys.registry._gate import Candidate, GateDecision, NoPromotion, Promoter
from mlsys.split import Splitter, TimeSplitter

__all__ = ["offer_run"]

log = logging.getLogger(__name__)


def offer_run(
    run: RunDir,
    *,
    promoter: Promoter,
    data: DataSource,
    splitter: Splitter,
    evaluator: Evaluator,
) -> GateDecision | None:
    """Rebuild a finished run's candidate (bundle, holdout, metrics); offer it to ``promoter``.

    The components are the run's own (its registry, data source, splitter and evaluator, built
    by the caller from the run's ``config.yaml``): the data file is checked against the run's
    sha256 and the holdout is the run's own test split. The gate writes its decision to
    ``gate.json`` in the run directory before it acts on it; a run registered before keeps the
    ``gate.json`` of that decision. Returns ``None`` for ``registry=none``.

    Raises:
        DataError: The run was not tracked, or its data changed since.
    """
    if isinstance(promoter, NoPromotion):
        return None
    run_dir = run.path
    run_id = run.metadata.get("tracking_run_id")
    if not run_id:
        raise DataError(
            f"offer: run '{run_dir}' was not tracked, so it cannot be registered. Fix: train "
            "again with tracker=mlflow."
        )
    dataset = run.load_data(data)
    splits = run.splits()
    features = dataset.features.iloc[splits.test].reset_index(drop=True)
    period = splitter.period(dataset, splits) if isinstance(splitter, TimeSplitter) else ("", "")
    candidate = Candidate(
        run_id=str(run_id),
        bundle_path=run_dir / "model.joblib",
        bundle=ModelBundle.load(run_dir / "model.joblib"),
        holdout_features=features,
        holdout_labels=dataset.target[splits.test],
        metrics=run.metrics,
        validation_metrics=run.validation_metrics,
        evaluator=evaluator,
        data_sha256=dataset.sha256,
        test_split_sha256=splits.digests()["test"],
        trained_until=period[0],
        holdout_from=period[1],
        decision_path=run_dir / "gate.json",
    )
    return promoter.offer(candidate)
