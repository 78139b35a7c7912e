"""Offer a finished run directory to the champion gate (used after sweeps, and by the CLI)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from mlsys.errors import DataError
from mlsys.registry._gate import Candidate, GateDecision

__all__ = ["offer_run"]

log = logging.getLogger(__name__)


def offer_run(run_dir: Path) -> GateDecision | None:
    """Rebuild the run's candidate (bundle, holdout, metrics) and offer it to its registry.

    Uses the run's own resolved config: the same data file (checked against its sha256), the
    same split indices, evaluator and registry. Writes ``gate.json`` into the run directory.
    """
    from mlsys.config import instantiate_component
    from mlsys.models import ModelBundle
    from mlsys.split import SplitIndices, TimeSplitter

    config = OmegaConf.load(run_dir / "config.yaml")
    metadata: dict[str, Any] = json.loads((run_dir / "metadata.json").read_text())
    run_id = metadata.get("tracking_run_id")
    if not run_id:
        raise DataError(f"offer: run '{run_dir}' was not tracked, so it cannot be registered.")
    dataset = instantiate_component(config.data, "data").load()
    if dataset.sha256 != metadata["data"]["sha256"]:
        raise DataError(f"offer: the data of run '{run_dir}' changed since it ran; not offered.")
    splits = SplitIndices.load(run_dir / "splits.npz")
    features = dataset.features.iloc[splits.test].reset_index(drop=True)
    splitter = instantiate_component(config.split, "split")
    period = splitter.period(dataset, splits) if isinstance(splitter, TimeSplitter) else ("", "")
    candidate = Candidate(
        run_id=str(run_id),
        bundle_path=run_dir / "model.joblib",
        bundle=ModelBundle.load(run_dir / "model.joblib"),
        holdout_features=features,
        holdout_labels=dataset.target[splits.test],
        metrics=json.loads((run_dir / "metrics.json").read_text()),
        evaluator=instantiate_component(config.evaluation, "evaluation"),
        data_sha256=dataset.sha256,
        test_split_sha256=splits.digests()["test"],
        trained_until=period[0],
        holdout_from=period[1],
    )
    promoter = instantiate_component(config.registry, "registry")
    decision: GateDecision | None = promoter.offer(candidate)
    if decision is not None:
        (run_dir / "gate.json").write_text(json.dumps(decision.to_dict(), indent=2) + "\n")
    return decision
