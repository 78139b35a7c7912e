"""The champion gate compares a candidate with the champion only on rows the champion never saw."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlsys.calibration import SigmoidCalibrator
from mlsys.data import Dataset, FrameSource, generate_leads
from mlsys.evaluation import Evaluator, ReportOptions
from mlsys.features import NoRebalance, TabularFeatures
from mlsys.models import LogisticRegressionModel
from mlsys.pipeline import TrainingPipeline, TrainingResult
from mlsys.registry import CHAMPION, Candidate, ChampionGate, InMemoryRegistry
from mlsys.split import TimeSplitter

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainingResult, Dataset]:
    frame, _ = generate_leads(n_rows=1500)
    source = FrameSource(
        frame,
        target="converted",
        id_column="lead_id",
        date_columns=["created_at"],
        drop_columns=["account_id", "opportunity_amount"],
    )
    splitter = TimeSplitter(column="created_at")
    result = TrainingPipeline(
        data=source,
        splitter=splitter,
        features=TabularFeatures(),
        imbalance=NoRebalance(),
        model=LogisticRegressionModel(),
        calibrator=SigmoidCalibrator(),
        evaluator=Evaluator(report=ReportOptions(enabled=False)),
        output_dir=tmp_path_factory.mktemp("run"),
    ).run()
    return result, source.load()


def _candidate(result: TrainingResult, dataset: Dataset, **changes: str) -> Candidate:
    splitter = TimeSplitter(column="created_at")
    splits = splitter.split(dataset)
    trained_until, holdout_from = splitter.period(dataset, splits)
    candidate = Candidate(
        run_id="run",
        bundle_path=result.artifacts["model"],
        bundle=result.bundle,
        holdout_features=dataset.features.iloc[splits.test].reset_index(drop=True),
        holdout_labels=dataset.target[splits.test],
        metrics=result.metrics,
        evaluator=Evaluator(),
        data_sha256=dataset.sha256,
        test_split_sha256=splits.digests()["test"],
        trained_until=trained_until,
        holdout_from=holdout_from,
    )
    return replace(candidate, **changes)


def test_time_split_period_separates_fitted_rows_from_test_rows(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    _, dataset = trained
    splitter = TimeSplitter(column="created_at")

    trained_until, holdout_from = splitter.period(dataset, splitter.split(dataset))

    assert trained_until <= holdout_from


def test_another_file_with_a_newer_holdout_is_compared(
    trained: tuple[TrainingResult, Dataset],
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    first = gate.offer(_candidate(result, dataset, trained_until="2025-01-31T00:00:00"))
    assert first.promoted

    # Refreshed data: another file, and every test row is newer than the champion's rows.
    fresh = _candidate(result, dataset, data_sha256="refreshed", holdout_from="2025-03-01")
    decision = gate.offer(fresh)

    # Compared, not refused: the champion was re-scored on the fresh rows. The same model
    # scores the same, so a tie keeps the champion.
    assert decision.reason.startswith("fresh holdout: test rows from 2025-03-01")
    assert "roc_auc gain +0.0000 below required" in decision.reason
    assert decision.champion_scores == decision.candidate_scores
    assert registry.get_alias(CHAMPION) == "1"


@pytest.mark.parametrize(
    "changes",
    [
        {"holdout_from": "2025-01-15T00:00:00"},  # test rows overlap the champion's period
        {"holdout_from": ""},  # a random split proves nothing
    ],
    ids=["overlapping-period", "no-period"],
)
def test_another_file_without_a_newer_holdout_is_refused(
    trained: tuple[TrainingResult, Dataset], changes: dict[str, str]
) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    gate = ChampionGate(registry)
    gate.offer(_candidate(result, dataset, trained_until="2025-01-31T00:00:00"))

    decision = gate.offer(_candidate(result, dataset, data_sha256="refreshed", **changes))

    assert not decision.promoted
    assert decision.reason.startswith("REFUSED: holdout differs")
    assert "split=time" in decision.reason
    assert registry.get_alias(CHAMPION) == "1"


def test_registered_versions_keep_their_period(trained: tuple[TrainingResult, Dataset]) -> None:
    result, dataset = trained
    registry = InMemoryRegistry()
    candidate = _candidate(result, dataset)

    ChampionGate(registry).offer(candidate)

    tags = registry.versions()[0].tags
    assert tags["mlsys.trained_until"] == candidate.trained_until
    assert tags["mlsys.holdout_from"] == candidate.holdout_from
