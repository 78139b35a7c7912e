"""Offer a finished run directory to the champion gate (used after sweeps, and by the CLI)."""

from __future__ import annotations

import logging
from pathlib import Path

from mlsys.errors import DataError
from mlsys.registry._gate import Candidate, GateDecision, NoPromotion

__all__ = ["offer_run"]

log = logging.getLogger(__name__)


def offer_run(run_dir: Path) -> GateDecision | None:
    """Rebuild the run's candidate (bundle, holdout, metrics) and offer it to its registry.

    Uses the run's own resolved config: the same data file (checked against its sha256), the
    same split indices, evaluator and registry. The gate writes its decision to ``gate.json`` in
    the run directory before it acts on it; a run registered before keeps the ``gate.json`` of
    that decision. Returns ``None`` when the run's config has ``registry=none``.
    """
    from mlsys._rundir import RunDir
    from mlsys.config import instantiate_component
    from mlsys.models import ModelBundle
    from mlsys.split import TimeSplitter

    run = RunDir.open(run_dir, purpose="offer")
    config = run.config
    promoter = instantiate_component(config.registry, "registry")
    if isinstance(promoter, NoPromotion):
        return None
    run_id = run.metadata.get("tracking_run_id")
    if not run_id:
        raise DataError(
            f"offer: run '{run_dir}' was not tracked, so it cannot be registered. Fix: train "
            "again with tracker=mlflow."
        )
    dataset = run.load_data()
    splits = run.splits()
    features = dataset.features.iloc[splits.test].reset_index(drop=True)
    splitter = instantiate_component(config.split, "split")
    period = splitter.period(dataset, splits) if isinstance(splitter, TimeSplitter) else ("", "")
    candidate = Candidate(
        run_id=str(run_id),
        bundle_path=run_dir / "model.joblib",
        bundle=ModelBundle.load(run_dir / "model.joblib"),
        holdout_features=features,
        holdout_labels=dataset.target[splits.test],
        metrics=run.metrics,
        validation_metrics=run.validation_metrics,
        evaluator=instantiate_component(config.evaluation, "evaluation"),
        data_sha256=dataset.sha256,
        test_split_sha256=splits.digests()["test"],
        trained_until=period[0],
        holdout_from=period[1],
        decision_path=run_dir / "gate.json",
    )
    decision: GateDecision | None = promoter.offer(candidate)
    return decision
